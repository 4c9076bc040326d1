"""Settings read from the environment once, at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from devicetrack.auth.client_address import parse_networks


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("devicetrack")) / "pgdata"


@dataclass(frozen=True)
class Settings:
    # None means "start the embedded PostgreSQL from pgserver in data_dir".
    database_url: str | None = None
    data_dir: Path = field(default_factory=_default_data_dir)
    token_ttl_hours: int = 12
    # Requests larger than this are refused with 413; bulk uploads have their own cap.
    max_body_bytes: int = 1 * 1024 * 1024
    max_upload_bytes: int = 64 * 1024 * 1024
    statement_timeout_ms: int = 30_000
    pool_size: int = 10
    # Login throttling: failures allowed per window, per account and per client address.
    login_max_failures: int = 5
    login_window_seconds: int = 300
    # Proxies whose X-Forwarded-For names the client (for per-address throttling): IPs or
    # networks (DEVICETRACK_TRUSTED_PROXIES="10.0.0.5,192.168.1.0/24"); none by default, so
    # the TCP peer is the client and a forged header changes nothing.
    trusted_proxies: tuple[str, ...] = ()
    # Seconds a resolved token stays cached in-process (see auth/cache.py); 0 disables.
    auth_cache_seconds: float = 5.0
    demo_mode: bool = False
    # Web session cookies: None sets Secure when the request came over HTTPS (a school's
    # plain-HTTP intranet can still sign in); True or False forces it.
    cookie_secure: bool | None = None
    log_sql: bool = False
    # Answers at least this long are compressed (brotli, or gzip for clients without it);
    # smaller ones fit a packet or two and gain nothing. 0 turns compression off (for a
    # proxy that compresses). DEVICETRACK_COMPRESS_MIN_BYTES.
    compress_min_bytes: int = 1024
    # Students who left or graduated more than this many months ago are pseudonymised by
    # `devicetrack privacy sweep` (Decree 356/2025: keep personal data no longer than needed).
    retention_months: int = 24
    # The nightly backup (db/backup.py): where (None: beside the embedded data directory,
    # "<data_dir>-backups"), how many days kept, and whether at all (None: only for the
    # embedded default; DEVICETRACK_NIGHTLY_BACKUP=0 turns it off, =1 on with DATABASE_URL).
    backup_dir: Path | None = None
    backup_keep_days: int = 7
    nightly_backup: bool | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {}
        if env.get("DATABASE_URL"):
            values["database_url"] = env["DATABASE_URL"]
        if env.get("DEVICETRACK_DATA_DIR"):
            values["data_dir"] = Path(env["DEVICETRACK_DATA_DIR"])
        for name, key in (
            ("token_ttl_hours", "DEVICETRACK_TOKEN_TTL_HOURS"),
            ("max_body_bytes", "DEVICETRACK_MAX_BODY_BYTES"),
            ("max_upload_bytes", "DEVICETRACK_MAX_UPLOAD_BYTES"),
            ("statement_timeout_ms", "DEVICETRACK_STATEMENT_TIMEOUT_MS"),
            ("pool_size", "DEVICETRACK_POOL_SIZE"),
            ("login_max_failures", "DEVICETRACK_LOGIN_MAX_FAILURES"),
            ("login_window_seconds", "DEVICETRACK_LOGIN_WINDOW_SECONDS"),
            ("retention_months", "DEVICETRACK_RETENTION_MONTHS"),
            ("backup_keep_days", "DEVICETRACK_BACKUP_KEEP_DAYS"),
            ("compress_min_bytes", "DEVICETRACK_COMPRESS_MIN_BYTES"),
        ):
            if env.get(key):
                values[name] = int(env[key])
        if env.get("DEVICETRACK_AUTH_CACHE_SECONDS"):
            values["auth_cache_seconds"] = float(env["DEVICETRACK_AUTH_CACHE_SECONDS"])
        if env.get("DEVICETRACK_BACKUP_DIR"):
            values["backup_dir"] = Path(env["DEVICETRACK_BACKUP_DIR"])
        if env.get("DEVICETRACK_NIGHTLY_BACKUP"):
            nightly = env["DEVICETRACK_NIGHTLY_BACKUP"].lower()
            values["nightly_backup"] = nightly in {"1", "true", "yes", "on"}
        if env.get("DEVICETRACK_TRUSTED_PROXIES"):
            proxies = parse_networks(env["DEVICETRACK_TRUSTED_PROXIES"])  # fails on a typo
            values["trusted_proxies"] = tuple(str(network) for network in proxies)
        if env.get("DEVICETRACK_COOKIE_SECURE"):
            secure = env["DEVICETRACK_COOKIE_SECURE"].lower()
            values["cookie_secure"] = secure in {"1", "true", "yes"}
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg dialect SQLAlchemy expects."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://…)")

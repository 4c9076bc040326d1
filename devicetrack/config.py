"""Settings read from the environment once, at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs


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
    # Seconds a resolved token stays cached in-process (see auth/cache.py); 0 disables.
    auth_cache_seconds: float = 5.0
    demo_mode: bool = False
    # Web session cookies: None sets Secure when the request came over HTTPS (a school's
    # plain-HTTP intranet can still sign in); True or False forces it.
    cookie_secure: bool | None = None
    log_sql: bool = False
    # Exports and label sheets running at once in one process (the rest wait
    # heavy_work_wait_seconds for a slot, then get 429), and labels in one sheet
    # (devices × copies; 413 beyond). See common/heavy.py and labels/service.py.
    heavy_work_limit: int = 2
    heavy_work_wait_seconds: float = 2.0
    max_labels_per_request: int = 20_000

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
            ("heavy_work_limit", "DEVICETRACK_HEAVY_WORK_LIMIT"),
            ("max_labels_per_request", "DEVICETRACK_MAX_LABELS"),
        ):
            if env.get(key):
                values[name] = int(env[key])
        if env.get("DEVICETRACK_AUTH_CACHE_SECONDS"):
            values["auth_cache_seconds"] = float(env["DEVICETRACK_AUTH_CACHE_SECONDS"])
        if env.get("DEVICETRACK_HEAVY_WORK_WAIT_SECONDS"):
            values["heavy_work_wait_seconds"] = float(env["DEVICETRACK_HEAVY_WORK_WAIT_SECONDS"])
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

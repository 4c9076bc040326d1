"""Settings read from the environment once, at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

import platformdirs

Network = IPv4Network | IPv6Network


@lru_cache(maxsize=8)
def parse_networks(value: str) -> tuple[Network, ...]:
    """'10.0.0.5, 192.168.1.0/24, ::1' → networks; a bad entry stops start-up with its name."""
    networks: list[Network] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"DEVICETRACK_TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from None
    return tuple(networks)


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
    # JSON bodies nested deeper than this are refused with 400 (common/json_depth.py).
    max_json_depth: int = 64
    # Uploaded tables (CSV/XLSX, see common/tabular.py): beyond these an upload is refused
    # with a problem naming the limit. Rows are data rows (the header is not counted); the
    # XLSX size is the sum of the zip's members once decompressed, checked before reading.
    upload_max_rows: int = 200_000
    upload_max_columns: int = 100
    upload_max_cell_chars: int = 4_000
    upload_max_xlsx_bytes: int = 100 * 1024 * 1024
    # The XLSX reader runs in a child process with this much address space: a crafted
    # sheet that would make it allocate more ends that process, not the server.
    upload_reader_memory_bytes: int = 2 * 1024 * 1024 * 1024
    # Uploads parsed and checked at once per process (in worker threads); the rest wait.
    upload_workers: int = 2
    statement_timeout_ms: int = 30_000
    # Memory a request's query may use per sort or hash before spilling to disk. At the
    # server's default (4 MB) PostgreSQL sorted a 100,000-device donor's impact on disk
    # (238 ms) instead of hashing it in memory (93 ms): it plans a hash by its estimate of
    # the groups (62,000; there were 298) and refuses one that might not fit.
    work_mem_mb: int = 8
    pool_size: int = 10
    # Test a pooled connection before handing it out (one round trip per request): for a
    # network that drops idle connections unseen (a firewall, a proxy). Off by default.
    pool_pre_ping: bool = False
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
    # Hours an Idempotency-Key and its kept answer last (the draft leaves the expiry to
    # the server and asks that it be published: README, "Retries").
    idempotency_hours: int = 24
    # Exports and label sheets running at once in one process (the rest wait
    # heavy_work_wait_seconds for a slot, then get 429), and labels in one sheet
    # (devices × copies; 413 beyond). See common/heavy.py and labels/service.py.
    heavy_work_limit: int = 2
    heavy_work_wait_seconds: float = 2.0
    max_labels_per_request: int = 20_000
    # Email (mail/): DEVICETRACK_SMTP_URL (None: every message goes to the outbox table,
    # read at /admin/outbox, and to the log) and the sender. See mail/smtp.py for the URL.
    smtp_url: str | None = None
    mail_from: str = "devicetrack <no-reply@devicetrack.invalid>"
    # Where people reach the service (DEVICETRACK_PUBLIC_URL): links in emails, the QR codes on
    # invitation sheets, labels and printed records; set it to the address phones can open.
    public_url: str = "http://127.0.0.1:8000"
    # A message is tried this many times in all; the waits between tries grow from
    # mail_retry_seconds (×4 each time: 1 min, 4, 16, 64 by default).
    mail_max_attempts: int = 5
    mail_retry_seconds: int = 60
    # `serve` and `demo` run the job worker in their own process unless --no-worker;
    # DEVICETRACK_JOB_CONCURRENCY jobs at once per worker.
    job_concurrency: int = 4
    # Webhooks (webhooks/): targets on this machine or a private network are refused unless
    # DEVICETRACK_WEBHOOK_ALLOW_PRIVATE=1 (tests, a province's intranet); a failed try waits
    # webhook_retry_seconds, ×5 each time (at most 8 h), for webhook_retry_hours; a webhook
    # failing for webhook_disable_days is disabled and its owner told.
    webhook_allow_private: bool = False
    webhook_retry_seconds: int = 10
    webhook_retry_hours: int = 24
    webhook_disable_days: int = 3
    webhook_timeout_seconds: float = 10.0
    # A streaming replica for reads that tolerate a moment's lag (db/replica.py):
    # DEVICETRACK_REPLICA_URL. Reads go to the primary while the replica lags more than
    # replica_max_lag_seconds, for replica_retry_seconds after it failed, and for
    # replica_fresh_seconds after the same browser or client wrote something.
    replica_url: str | None = None
    replica_max_lag_seconds: float = 30.0
    replica_fresh_seconds: float = 10.0
    replica_retry_seconds: float = 10.0
    replica_check_seconds: float = 2.0

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
            ("max_json_depth", "DEVICETRACK_MAX_JSON_DEPTH"),
            ("upload_max_rows", "DEVICETRACK_UPLOAD_MAX_ROWS"),
            ("upload_max_columns", "DEVICETRACK_UPLOAD_MAX_COLUMNS"),
            ("upload_max_cell_chars", "DEVICETRACK_UPLOAD_MAX_CELL_CHARS"),
            ("upload_max_xlsx_bytes", "DEVICETRACK_UPLOAD_MAX_XLSX_BYTES"),
            ("upload_reader_memory_bytes", "DEVICETRACK_UPLOAD_READER_MEMORY_BYTES"),
            ("upload_workers", "DEVICETRACK_UPLOAD_WORKERS"),
            ("statement_timeout_ms", "DEVICETRACK_STATEMENT_TIMEOUT_MS"),
            ("work_mem_mb", "DEVICETRACK_WORK_MEM_MB"),
            ("pool_size", "DEVICETRACK_POOL_SIZE"),
            ("login_max_failures", "DEVICETRACK_LOGIN_MAX_FAILURES"),
            ("login_window_seconds", "DEVICETRACK_LOGIN_WINDOW_SECONDS"),
            ("retention_months", "DEVICETRACK_RETENTION_MONTHS"),
            ("backup_keep_days", "DEVICETRACK_BACKUP_KEEP_DAYS"),
            ("idempotency_hours", "DEVICETRACK_IDEMPOTENCY_HOURS"),
            ("compress_min_bytes", "DEVICETRACK_COMPRESS_MIN_BYTES"),
            ("heavy_work_limit", "DEVICETRACK_HEAVY_WORK_LIMIT"),
            ("max_labels_per_request", "DEVICETRACK_MAX_LABELS"),
            ("mail_max_attempts", "DEVICETRACK_MAIL_MAX_ATTEMPTS"),
            ("mail_retry_seconds", "DEVICETRACK_MAIL_RETRY_SECONDS"),
            ("job_concurrency", "DEVICETRACK_JOB_CONCURRENCY"),
            ("webhook_retry_seconds", "DEVICETRACK_WEBHOOK_RETRY_SECONDS"),
            ("webhook_retry_hours", "DEVICETRACK_WEBHOOK_RETRY_HOURS"),
            ("webhook_disable_days", "DEVICETRACK_WEBHOOK_DISABLE_DAYS"),
        ):
            if env.get(key):
                values[name] = int(env[key])
        work_mem = values.get("work_mem_mb")
        if isinstance(work_mem, int) and work_mem < 1:
            # PostgreSQL refuses less than 64 kB: every connection, and so every request,
            # would fail; stop at start-up with the setting's name instead.
            raise ValueError("DEVICETRACK_WORK_MEM_MB must be at least 1 (megabytes)")
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
        if env.get("DEVICETRACK_HEAVY_WORK_WAIT_SECONDS"):
            values["heavy_work_wait_seconds"] = float(env["DEVICETRACK_HEAVY_WORK_WAIT_SECONDS"])
        if env.get("DEVICETRACK_PUBLIC_URL"):
            values["public_url"] = public_url(env["DEVICETRACK_PUBLIC_URL"])
        if env.get("DEVICETRACK_COOKIE_SECURE"):
            secure = env["DEVICETRACK_COOKIE_SECURE"].lower()
            values["cookie_secure"] = secure in {"1", "true", "yes"}
        if env.get("DEVICETRACK_SMTP_URL"):
            values["smtp_url"] = env["DEVICETRACK_SMTP_URL"]
        if env.get("DEVICETRACK_WEBHOOK_ALLOW_PRIVATE"):
            allow = env["DEVICETRACK_WEBHOOK_ALLOW_PRIVATE"].lower()
            values["webhook_allow_private"] = allow in {"1", "true", "yes", "on"}
        if env.get("DEVICETRACK_WEBHOOK_TIMEOUT_SECONDS"):
            values["webhook_timeout_seconds"] = float(env["DEVICETRACK_WEBHOOK_TIMEOUT_SECONDS"])
        if env.get("DEVICETRACK_POOL_PRE_PING"):
            ping = env["DEVICETRACK_POOL_PRE_PING"].lower()
            values["pool_pre_ping"] = ping in {"1", "true", "yes", "on"}
        if env.get("DEVICETRACK_REPLICA_URL"):
            values["replica_url"] = env["DEVICETRACK_REPLICA_URL"]
        for name, key in (
            ("replica_max_lag_seconds", "DEVICETRACK_REPLICA_MAX_LAG_SECONDS"),
            ("replica_fresh_seconds", "DEVICETRACK_REPLICA_FRESH_SECONDS"),
            ("replica_retry_seconds", "DEVICETRACK_REPLICA_RETRY_SECONDS"),
            ("replica_check_seconds", "DEVICETRACK_REPLICA_CHECK_SECONDS"),
        ):
            if env.get(key):
                values[name] = float(env[key])
        if env.get("DEVICETRACK_MAIL_FROM"):
            values["mail_from"] = env["DEVICETRACK_MAIL_FROM"]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]  # values read from the environment, each of its field's type


def public_url(value: str) -> str:
    """An http(s) address without its trailing slash; anything else stops start-up."""
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url) < len("http://x"):
        raise ValueError(f"DEVICETRACK_PUBLIC_URL: {value!r} is not an http(s) address")
    return url


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg dialect SQLAlchemy expects."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://…)")

"""The embedded PostgreSQL used when no DATABASE_URL is given (the `pgserver` package)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start_embedded(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) a PostgreSQL server in data_dir; return its URL and a handle.

    pgserver stops the server when the last process using it exits, so the handle must
    stay referenced for as long as the app runs.
    """
    from pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(str(data_dir), cleanup_mode="stop")
    uri: str = server.get_uri()
    log.info("embedded PostgreSQL running in %s", data_dir)
    return uri, server


def stop_embedded(server: Any) -> None:
    try:
        server.cleanup()
    except Exception:  # pragma: no cover - best effort on shutdown
        log.exception("stopping the embedded PostgreSQL failed")

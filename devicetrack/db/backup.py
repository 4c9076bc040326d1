"""Backups: pg_dump's custom format out, pg_restore in, and the nightly copy the embedded
default keeps.

The client tools come from the embedded server's own package (pgserver ships pg_dump,
pg_restore and psql beside its postgres) when there is no DATABASE_URL; with one, from PATH
or that package, whichever is the oldest release not older than the server (pg_dump refuses
a newer server; an older server is best restored by tools of its own release).

A restore goes into an empty database. With `force`, everything in the database's public
schema is dropped first, in the same transaction as the restore: a restore that fails
leaves the database as it was. Objects come back owned by the restoring user, without the
archive's grants (`--no-owner --no-privileges`), so a backup restores on another server.

The archive's data is loaded before its triggers and constraints are created (pg_restore's
order: schema, data, then indexes, constraints and triggers), so the append-only history
and the coverage counters' triggers neither refuse nor double-count the restored rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from devicetrack.common.clock import VIETNAM
from devicetrack.config import Settings, async_url

log = logging.getLogger(__name__)

# Vietnam's night: after the evening's last work, before the morning's first.
NIGHTLY_AT = time(2, 0)
NIGHTLY_PREFIX = "devicetrack-"
NIGHTLY_SUFFIX = ".dump"


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why, for a person."""


@dataclass(frozen=True)
class Connection:
    """A libpq URI without its password (which goes in PGPASSWORD, not on a command line
    every user of the machine can read) and the environment to run a tool in."""

    uri: str
    env: dict[str, str]
    database: str


def connection(url: str) -> Connection:
    plain = async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)
    parts = urlsplit(plain)
    env = dict(os.environ)
    netloc = parts.netloc
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
        user = parts.username or ""
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{user}@{host}" if user else host
    uri = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return Connection(uri=uri, env=env, database=parts.path.lstrip("/") or "postgres")


def _asyncpg_dsn(url: str) -> str:
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


# ---- the client tools ---------------------------------------------------------------------

TOOLS = ("pg_dump", "pg_restore", "psql")


@dataclass(frozen=True)
class Tools:
    """pg_dump, pg_restore and psql of one PostgreSQL release."""

    major: int
    paths: dict[str, Path]

    def __getitem__(self, name: str) -> str:
        return str(self.paths[name])


def embedded_bin() -> Path | None:
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:  # pragma: no cover - pgserver is a dependency
        return None
    return Path(POSTGRES_BIN_PATH)


def _major(tool: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(tool), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


def _in_dir(directory: Path) -> dict[str, Path] | None:
    paths = {name: directory / name for name in TOOLS}
    return paths if all(p.exists() for p in paths.values()) else None


def _on_path() -> dict[str, Path] | None:
    # Each found on its own: Debian's /usr/bin/pg_dump is a link to a wrapper that picks
    # the release, and the wrapper's own directory holds no pg_dump.
    found = {name: shutil.which(name) for name in TOOLS}
    return {n: Path(p) for n, p in found.items() if p} if all(found.values()) else None


def _candidates(embedded: bool) -> list[dict[str, Path]]:
    """The embedded package's tools alone for the embedded server; otherwise
    DEVICETRACK_PG_BIN's, PATH's, then the embedded package's."""
    own = embedded_bin()
    sets = (
        []
        if embedded
        else [
            _in_dir(Path(os.environ["DEVICETRACK_PG_BIN"]))
            if os.environ.get("DEVICETRACK_PG_BIN")
            else None,
            _on_path(),
        ]
    )
    sets.append(_in_dir(own) if own else None)
    return [s for s in sets if s]


def tool_sets(server_major: int, embedded: bool) -> list[Tools]:
    """Client tools not older than the server, the closest release first (pg_dump refuses a
    newer server; a server is best restored by tools of its own release)."""
    usable: list[tuple[int, int, Tools]] = []
    for order, paths in enumerate(_candidates(embedded)):
        major = _major(paths["pg_dump"])
        if major is not None and major >= server_major:
            usable.append((major, order, Tools(major, paths)))
    if not usable:
        raise BackupError(
            f"No pg_dump/pg_restore/psql of PostgreSQL {server_major} or newer was found; "
            "install the PostgreSQL client tools or set DEVICETRACK_PG_BIN to their directory."
        )
    return [tools for *_, tools in sorted(usable, key=lambda u: (u[0], u[1]))]


async def _server_major(url: str) -> int:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


def server_major(url: str) -> int:
    """Call from a thread without a running event loop (the CLI, or via asyncio.to_thread)."""
    try:
        return asyncio.run(_server_major(url))
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"Cannot reach the database: {exc}") from exc


def _run(command: list[str], conn: Connection, what: str) -> None:
    done = subprocess.run(command, env=conn.env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


# ---- backup ---------------------------------------------------------------------------------


def backup(url: str, path: Path, *, embedded: bool = False) -> Path:
    """Write the whole database to `path` in pg_dump's custom format. Written beside it
    first and renamed when complete: a crash never leaves a half backup under its name."""
    conn = connection(url)
    tools = tool_sets(server_major(url), embedded)[0]
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        _run(
            [
                tools["pg_dump"],
                "--format=custom",
                "--no-password",
                f"--file={partial}",
                f"--dbname={conn.uri}",
            ],
            conn,
            "pg_dump",
        )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# ---- restore --------------------------------------------------------------------------------


async def _user_relations(url: str) -> int:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        return int(
            await conn.fetchval(
                """SELECT count(*) FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                      AND n.nspname NOT LIKE 'pg\\_toast%'
                      AND n.nspname NOT LIKE 'pg\\_temp%'"""
            )
        )
    finally:
        await conn.close()


def restore(url: str, path: Path, *, force: bool = False, embedded: bool = False) -> None:
    """Restore a custom-format backup into the database at `url`, which must be empty
    unless `force`. One transaction: all of it, or (on any error) nothing."""
    path = path.expanduser()
    if not path.is_file():
        raise BackupError(f"No backup file {path}.")
    conn = connection(url)
    try:
        occupied = asyncio.run(_user_relations(url))
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"Cannot reach the database: {exc}") from exc
    if occupied and not force:
        raise BackupError(
            f"The database {conn.database!r} is not empty ({occupied} tables, views or "
            "sequences). Restore into a new, empty database, or add --force to replace "
            "everything in this one."
        )
    # The closest tools that can read this archive (a newer pg_dump's archive needs a
    # pg_restore at least as new).
    reasons: list[str] = []
    for tools in tool_sets(server_major(url), embedded):
        listed = subprocess.run(
            [tools["pg_restore"], "--list", str(path)], capture_output=True, text=True
        )
        if listed.returncode == 0:
            break
        reasons.append(listed.stderr.strip())
    else:
        raise BackupError(f"{path} is not a backup these tools can read: {reasons[-1]}")
    _replay(tools, conn, path, force)


def _replay(tools: Tools, conn: Connection, path: Path, force: bool) -> None:
    """pg_restore writes the archive as SQL; psql of the same release (it understands the
    meta-commands its own pg_restore writes) runs it inside one BEGIN … COMMIT. COMMIT is
    sent only once pg_restore has ended well: an archive cut short or unreadable half way
    ends psql's session without it, and PostgreSQL rolls everything back."""
    prelude = "SET client_min_messages = warning;\nBEGIN;\n"
    if force:
        # Everything the database held goes, in the restore's transaction.
        prelude += (
            "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
            "GRANT USAGE ON SCHEMA public TO PUBLIC;\n"
        )
    with tempfile.TemporaryFile() as script_err, tempfile.TemporaryFile() as psql_err:
        script = subprocess.Popen(
            [tools["pg_restore"], "--no-owner", "--no-privileges", "--file=-", str(path)],
            stdout=subprocess.PIPE,
            stderr=script_err,
            env=conn.env,
        )
        psql = subprocess.Popen(
            [
                tools["psql"],
                "--no-psqlrc",
                "--quiet",
                "--no-password",
                "--set=ON_ERROR_STOP=1",
                f"--dbname={conn.uri}",
                "--file=-",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=conn.env,
        )
        assert script.stdout is not None and psql.stdin is not None
        try:
            psql.stdin.write(prelude.encode())
            while chunk := script.stdout.read(1 << 20):
                psql.stdin.write(chunk)
            if script.wait() == 0:
                psql.stdin.write(b"COMMIT;\nANALYZE;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error (ON_ERROR_STOP): nothing was committed
        finally:
            script.stdout.close()
            script.wait()
            with contextlib.suppress(BrokenPipeError):
                psql.stdin.close()
            psql.wait()
        script_err.seek(0)
        psql_err.seek(0)
        script_said = script_err.read().decode(errors="replace").strip()
        psql_said = psql_err.read().decode(errors="replace").strip()
    if psql.returncode != 0:
        raise BackupError(f"The restore was rolled back: {psql_said[-2000:]}")
    if script.returncode != 0:
        raise BackupError(f"The restore was rolled back: pg_restore: {script_said[-2000:]}")


# ---- the nightly backup ---------------------------------------------------------------------


def nightly_dir(settings: Settings) -> Path:
    """DEVICETRACK_BACKUP_DIR, or beside the embedded server's data directory."""
    if settings.backup_dir is not None:
        return settings.backup_dir
    return settings.data_dir.with_name(settings.data_dir.name + "-backups")


def nightly_enabled(settings: Settings) -> bool:
    """On for the embedded default, off with DATABASE_URL (whose server has its own backups),
    unless DEVICETRACK_NIGHTLY_BACKUP says otherwise."""
    if settings.nightly_backup is not None:
        return settings.nightly_backup
    return settings.database_url is None


def _dated(directory: Path) -> Iterator[tuple[date, Path]]:
    for path in directory.glob(f"{NIGHTLY_PREFIX}*{NIGHTLY_SUFFIX}"):
        stamp = path.name[len(NIGHTLY_PREFIX) : -len(NIGHTLY_SUFFIX)]
        try:
            yield date.fromisoformat(stamp), path
        except ValueError:
            continue  # not one of ours: left alone


def prune(directory: Path, keep_days: int, today: date) -> list[Path]:
    """Remove the nightly backups older than `keep_days` days (today's counts as one), and
    any partial file a crash left behind."""
    oldest_kept = today - timedelta(days=max(keep_days, 1) - 1)
    removed = [p for d, p in _dated(directory) if d < oldest_kept]
    removed += list(directory.glob(f"{NIGHTLY_PREFIX}*{NIGHTLY_SUFFIX}.partial"))
    for path in removed:
        path.unlink(missing_ok=True)
    return sorted(removed)


async def nightly_backup(
    url: str, directory: Path, keep_days: int, *, embedded: bool, today: date | None = None
) -> Path:
    """The night's backup, `devicetrack-YYYY-MM-DD.dump` in `directory`, then the pruning.
    Idempotent per day: a backup already taken that day is kept, not taken again. All of it
    (pg_dump, the files) runs in a worker thread, never on the caller's event loop. The
    job runner calls this at NIGHTLY_AT every night (devicetrack/worker.py)."""
    day = today or datetime.now(VIETNAM).date()
    return await asyncio.to_thread(_nightly, url, directory, keep_days, embedded, day)


def _nightly(url: str, directory: Path, keep_days: int, embedded: bool, today: date) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{NIGHTLY_PREFIX}{today.isoformat()}{NIGHTLY_SUFFIX}"
    if not target.exists():
        backup(url, target, embedded=embedded)
        log.info("nightly backup written to %s", target)
    for path in prune(directory, keep_days, today):
        log.info("old backup %s removed", path)
    return target

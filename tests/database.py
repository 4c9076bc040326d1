"""The test database: a fresh database on DATABASE_URL's server when it is set, else on an
embedded PostgreSQL started for the run. Built once per run by the Alembic migrations."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from devicetrack.config import async_url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def asyncpg_dsn(url: str) -> str:
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(with_database(url, "postgres")))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def insert_donation(conn: asyncpg.Connection, province: str) -> tuple[int, int]:
    """A donor and one donation of theirs to `province`, straight into a bare migrated
    database (tests of the schema itself, without the app or its factories): their ids."""
    donor: int = await conn.fetchval(
        "INSERT INTO donors (name, short_name, kind) VALUES ('D', 'D', 'company') RETURNING id"
    )
    donation: int = await conn.fetchval(
        "INSERT INTO donations (donor_id, province_code, reference) VALUES ($1, $2, 'R')"
        " RETURNING id",
        donor,
        province,
    )
    return donor, donation


@contextmanager
def server_url() -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    from devicetrack.db.embedded import start_embedded, stop_embedded

    with tempfile.TemporaryDirectory(prefix="devicetrack-test-pg-") as tmp:
        url, server = start_embedded(Path(tmp) / "pgdata")
        try:
            yield url
        finally:
            stop_embedded(server)


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """A new, empty database named for this run; dropped afterwards."""
    name = f"devicetrack_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server, name)
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

"""Faults the database itself raises, on the real server: a statement that runs past the
timeout answers 504 and a full disk answers 503, both as problem+json and at once, and the
refused write leaves nothing behind. (The whole-server restart and kill -9 drills are in
scripts/fault_drill.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.app import create_app
from devicetrack.config import Settings
from tests.factories import Factory, assert_problem


@pytest.fixture
async def impatient(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The app with a 200 ms statement timeout, as an operator might set for reports."""
    app = create_app(replace(settings, statement_timeout_ms=200))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        yield test_client


async def test_a_report_past_the_statement_timeout_answers_504_not_a_hang(
    impatient: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    admin = await factory.admin()
    async with db.acquire() as conn, conn.transaction():
        # Another session holds the counters: the report waits, and the timeout ends it.
        await conn.execute("LOCK TABLE school_counts IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = await asyncio.wait_for(
            impatient.get("/api/v1/reports/coverage?level=province", headers=admin.headers), 10
        )
        elapsed = time.monotonic() - started
    body = assert_problem(response, 504)
    assert "statement timeout" in body["detail"]
    assert elapsed < 5


async def test_a_full_disk_answers_503_and_keeps_nothing(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    admin = await factory.admin()
    # PostgreSQL's own error for a full disk (SQLSTATE 53100), raised where a real one
    # would be: while the row is written.
    await db.execute(
        """CREATE FUNCTION pg_temp_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'
                 USING ERRCODE = 'disk_full'; END $$"""
    )
    await db.execute(
        "CREATE TRIGGER disk_full BEFORE INSERT ON donors FOR EACH ROW "
        "EXECUTE FUNCTION pg_temp_disk_full()"
    )
    try:
        response = await client.post(
            "/api/v1/donors",
            headers=admin.headers,
            json={"name": "Quỹ Thử", "short_name": "QT", "kind": "foundation"},
        )
    finally:
        await db.execute("DROP TRIGGER disk_full ON donors")
        await db.execute("DROP FUNCTION pg_temp_disk_full()")
    body = assert_problem(response, 503)
    assert "No space" not in body["detail"]  # nothing internal reaches the client
    assert await db.fetchval("SELECT count(*) FROM donors") == 0
    after = await client.post(
        "/api/v1/donors",
        headers=admin.headers,
        json={"name": "Quỹ Thử", "short_name": "QT", "kind": "foundation"},
    )
    assert after.status_code == 201

"""Fixtures: one migrated database per run, the app over real HTTP semantics (ASGI), and
users of every role. Each test starts from empty tables (the reference data stays)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.app import create_app
from devicetrack.config import Settings
from devicetrack.db import migrate
from tests.database import asyncpg_dsn, scratch_database, server_url
from tests.factories import Factory
from tests.job_helpers import Inbox, smtp_server

KEEP_TABLES = {"provinces", "communes", "alembic_version", "tag_sequences"}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with server_url() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    with scratch_database(pg_server) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The in-process credential cache is off so tests that change users in SQL see it at once.
    return Settings(
        database_url=database_url,
        login_max_failures=5,
        login_window_seconds=300,
        auth_cache_seconds=0,
        # A connection ended by the reset between tests (clean_tables, when it finds a
        # leaked transaction) is replaced, not handed to the next test's first request.
        pool_pre_ping=True,
    )


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Direct SQL access for arranging and asserting on the database itself."""
    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        # The API answers refusals in the caller's language (Vietnamese for the users the
        # factories make); the tests read the English unless they ask for Vietnamese
        # (tests/test_messages.py).
        test_client.headers["Accept-Language"] = "en"
        yield test_client


@pytest.fixture(autouse=True)
async def clean_tables(db: asyncpg.Pool, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    tables = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    names = [r["tablename"] for r in tables if r["tablename"] not in KEEP_TABLES]
    if not names:
        return
    try:
        await _truncate(db, names)
        return
    except asyncpg.LockNotAvailableError:
        pass
    # A connection still holds a lock on a table ten seconds after the test ended: a
    # transaction left open, which in production would hold its locks (and a pooled
    # connection) until something happened to use that connection again. Such a leak was
    # the suite's old intermittent hang (asyncpg left mid-statement by a value it could not
    # encode: devicetrack/db/unsent.py, tests/test_unsendable_values.py). Name the
    # holders and fail this test, and end them so that the rest of the run goes on (the
    # apps' pools replace an ended connection: Settings.pool_pre_ping above).
    holders = await db.fetch(
        "SELECT a.pid, a.application_name, a.state, a.wait_event, a.xact_start,"
        " left(a.query, 200) AS query FROM pg_stat_activity a"
        " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
        " AND EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.granted"
        " AND l.relation IS NOT NULL)"
    )
    await db.execute(
        "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid",
        [h["pid"] for h in holders],
    )
    await _truncate(db, names)
    pytest.fail(
        f"after {request.node.nodeid}, connections kept locks past the end of the test "
        f"(ended now): {[dict(h) for h in holders]}"
    )


async def _truncate(db: asyncpg.Pool, names: list[str]) -> None:
    async with db.acquire() as conn, conn.transaction():
        # The history table refuses TRUNCATE by trigger; replica mode (superuser only)
        # skips triggers for this reset between tests, as an operator restore would.
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("SET LOCAL lock_timeout = '10s'")
        await conn.execute(
            "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"
        )
        await conn.execute("UPDATE tag_sequences SET last_value = 0")


@pytest.fixture
def factory(db: asyncpg.Pool, client: AsyncTestClient) -> Factory:
    return Factory(db, client)


@pytest.fixture(scope="session")
async def web_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """A browser-like client for the pages: redirects are answers to check, not to follow."""
    app = create_app(settings)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        test_client.follow_redirects = False
        yield test_client


@pytest.fixture
def web(web_client: AsyncTestClient) -> Iterator[AsyncTestClient]:
    # Each test starts signed out: no cookie of an earlier test is sent.
    web_client.cookies.clear()
    yield web_client
    web_client.cookies.clear()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1: what it received, and its URL."""
    with smtp_server() as server:
        yield server

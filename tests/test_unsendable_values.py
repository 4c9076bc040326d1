"""A value the database driver cannot send (an id beyond 64 bits in a URL) is refused, and
the connection that tried leaves no transaction behind.

asyncpg prepares a statement with Parse, Describe and Flush, without Sync, and encodes the
arguments only after that; when one does not fit its column's type it raises before
sending anything more. The server is then still inside the exchange: `active`, waiting on
`ClientRead`, in an implicit transaction holding ACCESS SHARE locks on every table of the
query. A read in autocommit has nothing to roll back, so the pool took that connection
back as it was, and a TRUNCATE, ALTER TABLE or anything else that needs an ACCESS
EXCLUSIVE lock on one of those tables waited until the connection happened to be used
again (the suite's reset between tests waited forever)."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.app import create_app
from devicetrack.config import Settings
from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser

TOO_BIG = "99999999999999999999"  # a Python int, beyond PostgreSQL's bigint


async def _app_transactions(db: asyncpg.Pool) -> list[dict[str, object]]:
    """The app's backends still inside a transaction, after a moment for a closed
    connection's backend to end (the server ends it after the client has gone)."""
    for _ in range(20):
        rows = await db.fetch(
            "SELECT state, wait_event, left(query, 80) AS query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name LIKE 'devicetrack%' AND xact_start IS NOT NULL"
        )
        if not rows:
            break
        await asyncio.sleep(0.1)
    return [dict(r) for r in rows]


async def _lock_at_once(db: asyncpg.Pool, table: str) -> None:
    """What the reset between tests (and a migration) needs: the table to itself."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL lock_timeout = '2s'")
        await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")


async def test_an_id_too_big_to_send_leaves_no_transaction_open(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, settings: Settings
) -> None:
    scene = await make_scene(client, db, factory)
    # An app of its own: its connections have prepared nothing yet, so each query below is
    # parsed on the server before its argument fails (a statement a connection had already
    # prepared skips the Parse and left nothing open, which made the hang depend on which
    # pooled connection served the request).
    async with AsyncTestClient(app=create_app(settings), raise_server_exceptions=False) as app:
        app.follow_redirects = False
        page = await app.get(f"/donor?donor={TOO_BIG}", headers=browser(scene.officer))
        assert page.status_code == 422, page.text[:300]
        assert await _app_transactions(db) == []
        await _lock_at_once(db, "donations")

        api = await app.get(f"/api/v1/donations/{TOO_BIG}", headers=scene.officer.headers)
        assert api.status_code == 422, api.text[:300]
        assert api.headers["content-type"].startswith("application/problem+json")
        assert await _app_transactions(db) == []
        await _lock_at_once(db, "donations")

        # The app goes on serving from its pool: the same page with a real donor.
        page = await app.get(f"/donor?donor={scene.donor_id}", headers=browser(scene.officer))
        assert page.status_code == 200

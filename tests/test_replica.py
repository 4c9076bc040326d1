"""The read replica (db/replica.py): which reads go to it, read-your-writes, and the
fallback to the primary when it is gone; then the whole drill (scripts/replica_drill.py
--small) on a real primary and a real streaming replica started for the test.

The in-process tests point DEVICETRACK_REPLICA_URL at the test database itself (a replica
that never lags) and count the connections taken from each engine: that is where a
request's queries went."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event

from devicetrack.app import create_app
from devicetrack.config import Settings
from devicetrack.db.replica import WROTE_COOKIE, Replica
from tests.factories import Factory
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[1]


class Checkouts:
    """Connections taken from the replica's engine since the last reset."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1

    def taken(self) -> int:
        count, self.count = self.count, 0
        return count


@pytest.fixture
async def app_with_replica(settings: Settings) -> AsyncIterator[tuple[AsyncTestClient, Litestar]]:
    # Checked once at start-up only, so what a test sees is what its requests did.
    app = create_app(
        replace(settings, replica_url=settings.database_url, replica_check_seconds=600)
    )
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        client.headers["Accept-Language"] = "en"
        yield client, app


@pytest.fixture
def replica_reads(app_with_replica: tuple[AsyncTestClient, Litestar]) -> Iterator[Checkouts]:
    replica: Replica = app_with_replica[1].state["replica"]
    counter = Checkouts()
    event.listen(replica.engine.sync_engine, "checkout", counter)
    yield counter
    event.remove(replica.engine.sync_engine, "checkout", counter)


async def test_reports_and_lists_read_the_replica_and_writes_and_other_reads_do_not(
    app_with_replica: tuple[AsyncTestClient, Litestar], replica_reads: Checkouts, factory: Factory
) -> None:
    client, _ = app_with_replica
    school = await factory.school()
    admin = await factory.admin()
    h = admin.headers
    replica_reads.taken()
    assert (
        await client.get("/api/v1/reports/coverage?level=province", headers=h)
    ).status_code == 200
    assert replica_reads.taken() == 1
    assert (await client.get("/api/v1/devices?limit=5", headers=h)).status_code == 200
    assert replica_reads.taken() == 1
    # Not marked lag-tolerant: a school's own record, and the SIM report (it writes the
    # access log of the students it names).
    assert (await client.get(f"/api/v1/schools/{school}", headers=h)).status_code == 200
    assert (await client.get("/api/v1/reports/sim-expiry", headers=h)).status_code == 200
    assert replica_reads.taken() == 0
    health = (await client.get("/health")).json()
    assert health["status"] == "ok" and health["replica"]["status"] == "ok"
    assert health["replica"]["lag_seconds"] == 0


async def test_the_province_dashboard_page_reads_the_replica_and_a_school_page_does_not(
    app_with_replica: tuple[AsyncTestClient, Litestar], replica_reads: Checkouts, factory: Factory
) -> None:
    client, _ = app_with_replica
    school = await factory.school()
    officer = await factory.officer()
    client.cookies.clear()
    client.cookies.set("dt_session", officer.token)  # the web session holds the token
    replica_reads.taken()
    page = await client.get("/province")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert replica_reads.taken() >= 1
    school_page = await client.get(f"/schools/{school}")
    assert school_page.status_code == 200
    assert replica_reads.taken() == 0
    client.cookies.clear()


async def test_after_a_write_the_same_caller_reads_the_primary_for_a_few_seconds(
    app_with_replica: tuple[AsyncTestClient, Litestar], replica_reads: Checkouts, factory: Factory
) -> None:
    client, _ = app_with_replica
    admin = await factory.admin()
    donor = await factory.donor()
    client.cookies.clear()
    written = await client.patch(
        f"/api/v1/donors/{donor}", json={"name": "Quỹ đã sửa"}, headers=admin.headers
    )
    assert written.status_code == 200, written.text
    assert WROTE_COOKIE in written.cookies
    replica_reads.taken()
    # The client sends the cookie back: its read goes to the primary.
    report = await client.get("/api/v1/reports/coverage?level=nation", headers=admin.headers)
    assert report.status_code == 200 and replica_reads.taken() == 0
    # An old or foreign value does not hold reads on the primary.
    client.cookies.set(WROTE_COOKIE, str(time.time() - 60))
    await client.get("/api/v1/reports/coverage?level=nation", headers=admin.headers)
    assert replica_reads.taken() == 1
    client.cookies.clear()


async def test_an_unreachable_replica_costs_no_error_and_no_wait(
    settings: Settings, factory: Factory
) -> None:
    # Nothing listens on this port: connection refused, as for a stopped replica.
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/devicetrack"
    app = create_app(replace(settings, replica_url=dead, replica_retry_seconds=30))
    admin = await factory.admin()
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        health = (await client.get("/health")).json()
        assert health["replica"]["status"] == "unavailable"
        assert "Connect" in health["replica"]["error"] or "refused" in health["replica"]["error"]
        started = time.monotonic()
        for level in ("nation", "province", "school"):
            r = await client.get(f"/api/v1/reports/coverage?level={level}", headers=admin.headers)
            assert r.status_code == 200, r.text
        assert time.monotonic() - started < 5


async def test_a_replica_connection_lost_mid_read_is_answered_by_the_primary(
    app_with_replica: tuple[AsyncTestClient, Litestar],
    replica_reads: Checkouts,
    factory: Factory,
    db: asyncpg.Pool,
) -> None:
    client, _ = app_with_replica
    admin = await factory.admin()
    url = "/api/v1/reports/coverage?level=province"
    assert (await client.get(url, headers=admin.headers)).status_code == 200
    assert replica_reads.taken() == 1
    # The replica's pooled connections are cut, as when a standby restarts: the next read
    # takes a dead connection and fails midway.
    ended = await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'devicetrack-replica'"
    )
    assert ended >= 1
    again = await client.get(url, headers=admin.headers)
    assert again.status_code == 200, again.text
    assert again.json() == (await client.get(url, headers=admin.headers)).json()
    health = (await client.get("/health")).json()["replica"]
    assert health["status"] == "unavailable" and health["error"]
    # Meanwhile reads go straight to the primary (the breaker), and no error reaches anyone.
    replica_reads.taken()
    assert (await client.get(url, headers=admin.headers)).status_code == 200
    assert replica_reads.taken() == 0


def _drill_binaries_present() -> bool:
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        if (POSTGRES_BIN_PATH / "pg_basebackup").exists():
            return True
    except ImportError:
        pass
    return any(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"))


@pytest.mark.skipif(not _drill_binaries_present(), reason="no pg_basebackup binaries")
def test_the_small_replica_drill_passes() -> None:
    """A primary and a streaming replica of their own (not DATABASE_URL's server)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "scripts/replica_drill.py", "--small"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["reports_on_replica_scans"] > 0
    assert summary["reports_on_primary_scans"] == 0
    assert summary["lag_seen_seconds"] > 0
    assert summary["fallback_reads"] > 0 and summary["fallback_slowest_ms"] < 3000
    assert summary["fallback_logged"] is True

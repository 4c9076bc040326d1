"""Every route marked lag-tolerant, served by a replica that refuses writes as a real standby
does (25006, read-only transaction): none of them writes. tests/test_replica.py points
the replica at the test database itself, where a write would succeed unnoticed; here the
replica's connections are read-only, so a write would be refused, logged as a bug and
answered from the primary (db/replica.py), which this test reports."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from devicetrack.app import create_app
from devicetrack.common.clock import local_today
from devicetrack.common.lag_tolerant import OPT_KEY
from devicetrack.config import Settings
from devicetrack.db.engine import async_url
from devicetrack.db.replica import Replica
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import make_scene
from tests.live_server import free_port


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    # On the asyncpg connection itself: through a cursor it would open a transaction that
    # stays open, still read-write, for the statements after it.
    dbapi_connection.run_async(lambda conn: conn.execute("SET default_transaction_read_only = on"))


@pytest.fixture
async def read_only_replica(settings: Settings) -> AsyncIterator[tuple[AsyncTestClient, Litestar]]:
    app = create_app_with_replica(settings)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        client.headers["Accept-Language"] = "en"
        replica: Replica = app.state["replica"]
        # No read has opened a connection yet (the start-up check has its own engine).
        assert replica.engine.sync_engine.pool.checkedin() == 0
        event.listen(replica.engine.sync_engine, "connect", _read_only)
        yield client, app


def create_app_with_replica(settings: Settings) -> Litestar:
    return create_app(
        replace(settings, replica_url=settings.database_url, replica_check_seconds=600)
    )


def factory_url(app: Litestar) -> str:
    replica: Replica = app.state["replica"]
    url = replica.settings.replica_url
    assert url is not None
    return url


def lag_tolerant_gets(app: Litestar) -> list[str]:
    paths = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "GET" in handler.http_methods and handler.opt.get(OPT_KEY):
                paths.append(route.path)
    return sorted(set(paths))


async def test_no_lag_tolerant_route_writes(
    read_only_replica: tuple[AsyncTestClient, Litestar],
    client: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A lent tablet whose SIM lapses soon: a read naming its student writes the access
    # log (as GET /reports/sim-expiry does, which is why it is not marked).
    scene = await make_scene(client, db, factory)
    tablet, sim = await scene.intake(
        {"kind": "tablet", "serial": "RO-SIM-T1"},
        {
            "kind": "sim",
            "iccid": "8984040000000000009",
            "plan_expires_on": (local_today() + timedelta(days=10)).isoformat(),
        },
    )
    await scene.act(scene.officer, tablet, "install-sim", sim=sim)
    await scene.at_school([tablet])
    await scene.lend(tablet, await scene.consenting_student(full_name="Giàng Thị Pà"))
    client, app = read_only_replica
    # A connection set up as the replica's refuses a write, as a standby does.
    engine = create_async_engine(async_url(factory_url(app)))
    event.listen(engine.sync_engine, "connect", _read_only)
    try:
        with pytest.raises(DBAPIError, match="read-only"):
            async with engine.connect() as conn:
                await conn.execute(text("UPDATE users SET full_name = full_name WHERE false"))
    finally:
        await engine.dispose()

    school, donor, admin = scene.school_a, scene.donor_id, scene.admin
    commune = await factory.commune(DIEN_BIEN)
    values = {"school_id": str(school), "donor_id": str(donor), "commune": commune}
    paths = lag_tolerant_gets(app)
    assert "/api/v1/reports/coverage" in paths and "/province" in paths, paths
    answered: dict[str, int] = {}
    caplog.set_level(logging.INFO, logger="devicetrack.replica")
    for path in paths:
        url = re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], path)
        if url.startswith("/api/"):
            response = await client.get(url, headers=admin.headers)
        else:
            client.cookies.set("dt_session", admin.token)
            response = await client.get(url + ("?donor=" + str(donor) if url == "/donor" else ""))
            client.cookies.clear()
        answered[url] = response.status_code
    assert all(code < 500 for code in answered.values()), answered
    fallbacks = [r.getMessage() for r in caplog.records if r.name == "devicetrack.replica"]
    assert fallbacks == [], fallbacks


async def test_health_names_a_replica_failure_without_its_address_or_user(
    settings: Settings, factory: Factory
) -> None:
    """/health answers anyone: a failure's text (the replica's address, its user, or the
    SQL and parameters of a read) stays in the log."""
    port = free_port()
    dead = f"postgresql://replica_reader@127.0.0.1:{port}/devicetrack_replica"
    app = create_app(replace(settings, replica_url=dead, replica_retry_seconds=30))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        health = (await client.get("/health")).json()["replica"]
    assert health["status"] == "unavailable" and health["error"], health
    for secret in (str(port), "127.0.0.1", "replica_reader", "devicetrack_replica"):
        assert secret not in health["error"], health

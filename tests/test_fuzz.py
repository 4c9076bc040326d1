"""Fuzzing the API from its own OpenAPI schema (schemathesis): for every operation, as an
admin and as school staff, generated requests never get a 5xx, and every 4xx is
problem+json.

Each operation is called EXAMPLES_PER_OPERATION times in a row by an app with one database
connection, so its statements run again and again on the same connection, as they do in
production: PostgreSQL plans a prepared statement generically from its sixth execution, and
a statement that only works with custom plans (an ON CONFLICT naming an expression index
through a bound parameter did) fails there. The app's database also forces generic plans
from the first execution, so such a statement fails whatever PostgreSQL's cost estimates.
Half the examples aim at real objects (a school, a device, a student… of the caller's
scope) so the calls get past the lookups into the queries behind them.

Bounded: the cases are generated once (hypothesis, a fixed seed) and reused for both roles.
`scripts/fuzz_long.py` is the longer run, against a real server, with stateful links."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from litestar.testing import AsyncTestClient
from schemathesis.core import NotSet
from schemathesis.transport.prepare import prepare_path

from devicetrack.app import create_app
from devicetrack.config import Settings
from tests.test_authz_matrix import _world

# Calls per operation ≥ 8: past the five custom plans PostgreSQL tries before it considers
# a generic one. Each drawn case is sent twice: as drawn, and aimed at real objects.
DRAWN_PER_OPERATION = 4
CALLS_PER_OPERATION = 2 * DRAWN_PER_OPERATION
SEED = 20261130
_cases: list[tuple[str, list[Any]]] = []


def _generate(raw: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """DRAWN_PER_OPERATION cases per operation, generated once per run (the slow part)."""
    if _cases:
        return _cases
    schema = schemathesis.openapi.from_dict(raw)
    for result in schema.get_all_operations():
        operation = result.ok()
        drawn = _draw(operation)
        _cases.append((f"{operation.method.upper()} {operation.path}", drawn))
    return _cases


def _draw(operation: Any) -> list[Any]:
    drawn: list[Any] = []

    @seed(SEED)
    @settings(
        max_examples=DRAWN_PER_OPERATION,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def draw(case: Any) -> None:
        drawn.append(case)

    draw()
    # An operation with few possible inputs exhausts them early: repeat them, since the
    # point is as much calling each operation often as calling it differently.
    return (drawn * DRAWN_PER_OPERATION)[:DRAWN_PER_OPERATION]


@pytest.fixture
async def one_connection_client(settings: Settings, db) -> AsyncIterator[AsyncTestClient]:
    """The app with one connection per pool, both opened while the database told new
    connections to plan every prepared statement generically; no other connection of the
    run is opened meanwhile, so only this app's carry the setting."""
    name = await db.fetchval("SELECT current_database()")
    await db.execute(f'ALTER DATABASE "{name}" SET plan_cache_mode = force_generic_plan')
    try:
        app = create_app(dataclasses.replace(settings, pool_size=1))
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as one:
            # Start-up opened the read pool's connection; /ready opens the session pool's.
            assert (await one.get("/ready")).status_code == 200
            await db.execute(f'ALTER DATABASE "{name}" RESET plan_cache_mode')
            yield one
    finally:
        await db.execute(f'ALTER DATABASE "{name}" RESET plan_cache_mode')


def _real_path(case: Any, objects: dict[str, Any]) -> dict[str, Any]:
    values = {"code": objects["province"], **objects}
    return {k: values.get(k, v) for k, v in (case.path_parameters or {}).items()}


@pytest.mark.parametrize("role", ["admin", "school_staff"])
async def test_no_server_errors_and_problem_json(
    client, one_connection_client, factory, db, role
) -> None:
    """Both roles get the same cases; a role reaches what its scope allows."""
    world = await _world(client, factory, db)
    objects = {k: v for k, v in world["a"].items() if k != "callers"}
    caller = world["admin"] if role == "admin" else world["a"]["callers"]["school_staff"]
    raw = (await client.get("/schema/openapi.json")).json()
    failures: list[str] = []
    calls: dict[str, int] = {}
    for label, cases in _generate(raw):
        for case in cases:
            for aimed in (False, True):
                # The second call aims at the caller's own objects (not for deletions, so
                # the rest of the run still finds them).
                path = case.path_parameters or {}
                if aimed and case.method.upper() != "DELETE":
                    path = _real_path(case, objects)
                failures += await _call(one_connection_client, case, path, caller.headers)
                calls[label] = calls.get(label, 0) + 1
    assert len(calls) > 60, sorted(calls)  # every operation of the API, not a few
    assert min(calls.values()) >= CALLS_PER_OPERATION, calls
    assert not failures, "\n".join(failures[:30])


async def _call(
    client: AsyncTestClient, case: Any, path: dict[str, Any], auth: dict[str, str]
) -> list[str]:
    """Send one case; what is wrong with the answer, if anything."""
    url = prepare_path(case.path, path)
    headers = {
        k: str(v)
        for k, v in (case.headers or {}).items()
        if k.lower() not in ("authorization", "x-api-key")
    }
    headers.update(auth)
    kwargs: dict[str, Any] = {"params": case.query or {}, "headers": headers}
    body = case.body
    if isinstance(body, bytes | str):
        kwargs["content"] = body
    elif not isinstance(body, NotSet) and body is not None:
        kwargs["json"] = body
    response = await client.request(case.method, url, **kwargs)
    where = f"{case.method} {url} -> {response.status_code}"
    if response.status_code >= 500:
        return [f"{where}: {response.text[:200]}"]
    if response.status_code >= 400 and not response.headers.get("content-type", "").startswith(
        "application/problem+json"
    ):
        return [f"{where}: not problem+json"]
    return []

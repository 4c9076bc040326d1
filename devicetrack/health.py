from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from devicetrack.db import replica
from devicetrack.errors import problem_response
from devicetrack.i18n import N_


class ReplicaHealth(msgspec.Struct):
    # "ok": lag-tolerant reads go to the replica; "lagging" (more than
    # DEVICETRACK_REPLICA_MAX_LAG_SECONDS behind) or "unavailable": they go to the primary.
    status: str
    lag_seconds: float | None
    checked_seconds_ago: float | None
    error: str | None


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    # Only with DEVICETRACK_REPLICA_URL: this process's last view of the replica (checked
    # in the background every few seconds, so /health itself queries nothing).
    replica: ReplicaHealth | None = None


@get("/health", operation_id="health", tags=["health"], security=[])
async def health(request: Request[Any, Any, Any]) -> Health:
    """Liveness: the process answers; and the read replica's state and lag, if there is one."""
    on_replica = replica.replica_of(request.app)
    if on_replica is None:
        return Health(status="ok")
    seen = on_replica.status()
    return Health(
        status="ok",
        replica=ReplicaHealth(seen.status, seen.lag_seconds, seen.checked_seconds_ago, seen.error),
    )


@get("/ready", operation_id="ready", tags=["health"], security=[])
async def ready(
    request: Request[Any, Any, Any], primary_engine: AsyncEngine
) -> Health | Response[Any]:
    """Readiness: the database answers within two seconds."""
    try:
        async with asyncio.timeout(2):
            async with primary_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception:
        return problem_response(
            request,
            503,
            "unavailable",
            N_("Not ready"),
            N_("The database is not reachable."),
            headers={"Retry-After": "5"},
        )
    return Health(status="ready")

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from devicetrack.errors import problem_response
from devicetrack.i18n import N_


class Health(msgspec.Struct):
    status: str


@get("/health", operation_id="health", tags=["health"], security=[])
async def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@get("/ready", operation_id="ready", tags=["health"], security=[])
async def ready(request: Request[Any, Any, Any], db_engine: AsyncEngine) -> Health | Response[Any]:
    """Readiness: the database answers within two seconds."""
    try:
        async with asyncio.timeout(2):
            async with db_engine.connect() as conn:
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

"""The baseline for scripts/bench_lookup.py: a bare Litestar app with an asyncpg pool doing
the same single-row lookup by asset tag, with no auth, no ORM and no transaction."""

from __future__ import annotations

import os

import asyncpg
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

DSN = os.environ["BARE_DSN"]


async def startup(app: Litestar) -> None:
    app.state.pool = await asyncpg.create_pool(DSN, min_size=4, max_size=10)


async def shutdown(app: Litestar) -> None:
    await app.state.pool.close()


@get("/devices/{tag:str}")
async def device(state: State, tag: str) -> dict:
    row = await state.pool.fetchrow("SELECT * FROM devices WHERE asset_tag = $1", tag)
    if row is None:
        raise NotFoundException()
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


app = Litestar([device], on_startup=[startup], on_shutdown=[shutdown])

"""A plain asyncpg pool for the hot read paths (resolving a credential, looking a device up
by tag). Those reads are one autocommit SELECT each, so they skip the ORM session, its
transaction and the pool's reset query on release (measured: the reset alone costs ~40% of
lookup throughput). Everything that writes goes through the request's SQLAlchemy session."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable

import asyncpg
from litestar import Litestar

from devicetrack.config import Settings, async_url


async def _no_reset(connection: asyncpg.Connection) -> None:
    """Connections from this pool only run autocommit statements that leave no session
    state behind, so there is nothing to reset."""


def dsn(url: str) -> str:
    return async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


def lifespan_hooks(
    settings: Settings,
) -> tuple[Callable[[Litestar], Awaitable[None]], Callable[[Litestar], Awaitable[None]]]:
    async def open_pool(app: Litestar) -> None:
        assert settings.database_url
        # Start-up objects (routes, schemas, models) live as long as the process: keep
        # them out of every garbage collection, which otherwise shows up as tail latency.
        gc.collect()
        gc.freeze()
        # Fewer, larger young collections: measured, full collections of request garbage
        # were the lookup's tail latency.
        gc.set_threshold(50_000, 20, 100)
        app.state.pg_pool = await asyncpg.create_pool(
            dsn(settings.database_url),
            min_size=1,
            max_size=settings.pool_size,
            reset=_no_reset,
            timeout=5,
            server_settings={
                "statement_timeout": str(settings.statement_timeout_ms),
                "application_name": "devicetrack-read",
            },
        )

    async def close_pool(app: Litestar) -> None:
        pool = getattr(app.state, "pg_pool", None)
        if pool is not None:
            await pool.close()

    return open_pool, close_pool

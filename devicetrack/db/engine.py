"""Engines besides the app's own (advanced-alchemy's, in app.py): a short-lived one for
command-line work (demo data, user creation), and the read replica's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from devicetrack.config import Settings, async_url
from devicetrack.db.unsent import close_unfinished


def request_settings(settings: Settings, application_name: str) -> dict[str, str]:
    """What every connection that serves requests sets on the server, primary and replica
    alike."""
    return {
        "statement_timeout": str(settings.statement_timeout_ms),
        "application_name": application_name,
        # A page's queries are planned as costly when their estimates multiply (a join of
        # 2,342 schools estimated at 4.8 million rows) and then spend 20-90 ms compiling
        # for a 50 ms run: no JIT for request queries.
        "jit": "off",
        "work_mem": f"{settings.work_mem_mb}MB",
    }


@asynccontextmanager
async def cli_session(url: str) -> AsyncIterator[AsyncSession]:
    """One session in one transaction, committed when the block ends without error."""
    engine = close_unfinished(create_async_engine(async_url(url)))
    try:
        maker = async_sessionmaker(engine, expire_on_commit=False)
        async with maker() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


def replica_engine(url: str, settings: Settings, *, check: bool = False) -> AsyncEngine:
    """The second engine, on the streaming replica (db/replica.py decides who uses it).

    Connecting gives up after two seconds, so a replica that went away costs one short wait
    before the breaker sends reads to the primary; the statement timeout is the primary's.
    `check`: the one connection of the background lag check."""
    engine = create_async_engine(
        async_url(url),
        pool_size=1 if check else settings.pool_size,
        max_overflow=0 if check else settings.pool_size,
        pool_pre_ping=False,
        pool_timeout=5,
        echo=settings.log_sql,
        connect_args={
            "server_settings": request_settings(
                settings, "devicetrack-replica-check" if check else "devicetrack-replica"
            ),
            "timeout": 2,
        },
    )
    return close_unfinished(engine)

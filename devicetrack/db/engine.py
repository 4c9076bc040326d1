"""A short-lived engine for command-line work (demo data, user creation)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from devicetrack.config import async_url


@asynccontextmanager
async def cli_session(url: str) -> AsyncIterator[AsyncSession]:
    """One session in one transaction, committed when the block ends without error."""
    engine = create_async_engine(async_url(url))
    try:
        maker = async_sessionmaker(engine, expire_on_commit=False)
        async with maker() as session, session.begin():
            yield session
    finally:
        await engine.dispose()

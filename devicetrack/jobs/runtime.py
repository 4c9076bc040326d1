"""What every job is handed: the settings and the database it works on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from devicetrack.config import Settings, async_url
from devicetrack.db.unsent import close_unfinished


@dataclass
class Runtime:
    """`settings.database_url` is the database in use; `embedded` says whether it is the
    embedded server a command started (the nightly backup is on by default only then)."""

    settings: Settings
    embedded: bool = False
    _engine: AsyncEngine | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        assert self.settings.database_url, "a job runtime needs a database URL"
        return self.settings.database_url

    def engine(self) -> AsyncEngine:
        """One small pool per runtime, made on first use (in the loop that uses it)."""
        if self._engine is None:
            self._engine = close_unfinished(
                create_async_engine(
                    async_url(self.url),
                    pool_size=2,
                    max_overflow=self.settings.job_concurrency,
                    connect_args={"server_settings": {"application_name": "devicetrack-jobs"}},
                )
            )
        return self._engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session in one transaction, committed when the block ends without error."""
        maker = async_sessionmaker(self.engine(), expire_on_commit=False, autoflush=False)
        async with maker() as session, session.begin():
            yield session

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

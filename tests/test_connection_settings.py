"""Every connection that serves requests, on the primary and on the replica, carries the
same server settings (db/engine.py `request_settings`): no JIT, the statement timeout, and
the memory a sort or hash may use before spilling to disk."""

from __future__ import annotations

import dataclasses

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from devicetrack.app import create_app
from devicetrack.config import Settings
from devicetrack.db.engine import replica_engine


async def _shown(engine: AsyncEngine) -> tuple[str, str, str]:
    async with engine.connect() as conn:
        values = [
            (await conn.execute(text(f"SHOW {name}"))).scalar_one()
            for name in ("work_mem", "jit", "statement_timeout")
        ]
    return values[0], values[1], values[2]


async def test_primary_and_replica_connections_carry_the_settings(settings: Settings) -> None:
    chosen = dataclasses.replace(settings, work_mem_mb=12, statement_timeout_ms=45_000)
    app = create_app(chosen)
    plugin = app.plugins.get(SQLAlchemyPlugin)
    (config,) = plugin.config
    primary = config.get_engine()
    replica = replica_engine(chosen.database_url or "", chosen)
    try:
        for engine in (primary, replica):
            assert await _shown(engine) == ("12MB", "off", "45s")
    finally:
        await primary.dispose()
        await replica.dispose()


def test_a_work_mem_below_one_megabyte_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL refuses work_mem below 64 kB, so every pooled connection would fail:
    the setting is refused by name when the settings are read."""
    monkeypatch.setenv("DEVICETRACK_WORK_MEM_MB", "0")
    with pytest.raises(ValueError, match="DEVICETRACK_WORK_MEM_MB"):
        Settings.from_env()
    monkeypatch.setenv("DEVICETRACK_WORK_MEM_MB", "16")
    assert Settings.from_env().work_mem_mb == 16

"""The Alembic chain builds the schema from nothing, takes it all down, and builds it again."""

from __future__ import annotations

import asyncio

import asyncpg

from devicetrack.db import migrate
from tests.database import asyncpg_dsn, insert_donation, scratch_database

FOUNDATION_TABLES = {
    "provinces",
    "communes",
    "schools",
    "enrolments",
    "donors",
    "users",
    "user_schools",
    "auth_tokens",
    "api_keys",
    "login_attempts",
}


async def _leftovers(url: str) -> list[str]:
    """Functions, sequences, views and types the migrations made, if any remain."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            """SELECT 'function ' || p.proname AS name FROM pg_proc p
                 JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
               UNION ALL
               SELECT c.relkind::text || ' ' || c.relname FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('S', 'v', 'm')
               UNION ALL
               SELECT 'type ' || t.typname FROM pg_type t
                 JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')"""
        )
        return sorted(r["name"] for r in rows)
    finally:
        await conn.close()


async def _state(url: str) -> tuple[set[str], str | None, int, int]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        version = provinces = communes = 0
        if "alembic_version" in tables:
            version = await conn.fetchval("SELECT version_num FROM alembic_version")
        if "provinces" in tables:
            provinces = await conn.fetchval("SELECT count(*) FROM provinces")
            communes = await conn.fetchval("SELECT count(*) FROM communes")
        return tables, version or None, provinces, communes
    finally:
        await conn.close()


def _head() -> str:
    from alembic.script import ScriptDirectory

    config = migrate.alembic_config("postgresql://unused/x")
    return str(ScriptDirectory.from_config(config).get_current_head())


def test_upgrade_downgrade_upgrade(pg_server: str) -> None:
    """A sync test: the migration functions and scratch_database run their own event loops."""
    head = _head()
    with scratch_database(pg_server) as url:
        assert asyncio.run(_state(url))[0] == set()

        migrate.upgrade(url)
        first, version, provinces, communes = asyncio.run(_state(url))
        assert first >= FOUNDATION_TABLES
        assert {"devices", "donations", "students", "assignments", "audits"} <= first
        assert version == head
        assert provinces == 34 and communes > 3000
        made = asyncio.run(_leftovers(url))
        assert any(m.startswith("function ") for m in made), made  # the triggers' functions

        migrate.downgrade(url, "base")
        tables, version, provinces, _ = asyncio.run(_state(url))
        # Only Alembic's own bookkeeping is left, and it records no revision.
        assert tables == {"alembic_version"}, tables
        assert version is None
        assert asyncio.run(_leftovers(url)) == []

        migrate.upgrade(url)
        again, version, provinces, communes = asyncio.run(_state(url))
        assert again == first
        assert asyncio.run(_leftovers(url)) == made
        assert version == head and provinces == 34 and communes > 3000


async def _index_definitions(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'devices'"
            " AND indexname IN ('uq_devices_imei', 'uq_devices_iccid', 'ix_devices_school_status')"
        )
        return {r["indexname"]: r["indexdef"] for r in rows}
    finally:
        await conn.close()


async def _duplicate_imei_refused(url: str) -> str:
    """Two devices without an IMEI are fine; a second device with the same IMEI is not."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        donor, donation = await insert_donation(conn, "11")
        insert = (
            "INSERT INTO devices (asset_tag, province_code, kind, imei, donation_id, donor_id)"
            " VALUES ($1, '11', 'smartphone', $2, $3, $4)"
        )
        await conn.execute(insert, "DT11-000001-A", None, donation, donor)
        await conn.execute(insert, "DT11-000002-A", None, donation, donor)
        await conn.execute(insert, "DT11-000003-A", "356938035643809", donation, donor)
        try:
            await conn.execute(insert, "DT11-000004-A", "356938035643809", donation, donor)
        except asyncpg.UniqueViolationError as exc:
            return str(exc.constraint_name)
        return "no error"
    finally:
        await conn.close()


def test_identity_indexes_are_partial_and_still_unique(pg_server: str) -> None:
    """0008: IMEI/ICCID uniqueness and the school index skip NULLs (less to write on intake);
    the rule and the constraint name are unchanged, and the downgrade restores the old form."""
    with scratch_database(pg_server) as url:
        migrate.upgrade(url)
        indexes = asyncio.run(_index_definitions(url))
        assert (
            "UNIQUE" in indexes["uq_devices_imei"]
            and "WHERE (imei IS NOT NULL)" in (indexes["uq_devices_imei"])
        )
        assert "UNIQUE" in indexes["uq_devices_iccid"]
        assert "WHERE (iccid IS NOT NULL)" in indexes["uq_devices_iccid"]
        assert "WHERE (school_id IS NOT NULL)" in indexes["ix_devices_school_status"]
        assert asyncio.run(_duplicate_imei_refused(url)) == "uq_devices_imei"

        migrate.downgrade(url, "0007")
        indexes = asyncio.run(_index_definitions(url))
        assert all("WHERE" not in d for d in indexes.values()), indexes
        assert len(indexes) == 3

"""A new installation's first big intake checks each event's device through the primary
key, not by reading every device.

Migration 0037 used to ANALYZE `devices` while it was empty. PostgreSQL then believes the
table's current size, so the foreign-key check of `device_events.device_id`, planned on a
connection while the first few devices arrive, became a sequential scan, kept as that
connection's generic plan while the table grew: a first 100,000-device upload read every
device for every event (it ran for minutes). The migrations now analyze only tables that
hold rows. Checked by PostgreSQL's own counter of sequential scans on `devices`."""

from __future__ import annotations

import asyncio

import asyncpg

from devicetrack.db import migrate
from tests.database import asyncpg_dsn, insert_donation, scratch_database

SMALL, BIG = 20, 3000


async def _sequential_scans(conn: asyncpg.Connection) -> int:
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    scans: int = await conn.fetchval(
        "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'devices'"
    )
    return scans


async def _first_intakes(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        donor, donation = await insert_donation(conn, "01")

        async def intake(first: int, count: int, one_at_a_time: bool) -> None:
            ids = await conn.fetch(
                """INSERT INTO devices (asset_tag, province_code, kind, donation_id, donor_id)
                   SELECT 'T' || i, '01', 'laptop', $1, $2
                     FROM generate_series($3::int, $4::int) AS i RETURNING id""",
                donation,
                donor,
                first,
                first + count - 1,
            )
            events = [(row["id"], "registered") for row in ids]
            if one_at_a_time:  # as small uploads do, until the check's plan is generic
                for event in events:
                    await conn.execute(
                        "INSERT INTO device_events (device_id, action) VALUES ($1, $2)", *event
                    )
            else:
                await conn.copy_records_to_table(
                    "device_events", records=events, columns=["device_id", "action"]
                )

        await intake(1, SMALL, one_at_a_time=True)
        before = await _sequential_scans(conn)
        async with conn.transaction():
            await intake(SMALL + 1, BIG, one_at_a_time=False)
        return before, await _sequential_scans(conn)
    finally:
        await conn.close()


def test_the_first_big_intake_checks_events_by_the_primary_key(pg_server: str) -> None:
    with scratch_database(pg_server) as url:
        migrate.upgrade(url)
        before, after = asyncio.run(_first_intakes(url))
    # A handful of scans at most (the statement's own), never one per event.
    assert after - before < BIG // 10, (before, after)

"""The device CSV written by PostgreSQL (spreadsheet.csv_sql + COPY) reads the same as the
Python writer's (csv_cell), and the XLSX values the database prepares (xlsx_sql) are
xlsx_cell's: hostile text, quotes, line breaks, control characters, empty text, times with
and without microseconds, decimals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from devicetrack.common import spreadsheet
from devicetrack.db.engine import async_url
from devicetrack.devices import export
from devicetrack.devices import repository as repo
from devicetrack.tables import Device
from tests.factories import Factory

TEXTS = [
    "=1+1",
    "+1",
    "-2",
    "@SUM(1)",
    "\t=x",
    "\r=x",
    "\n=x",
    'say "hi", then\nleave',
    "a\x01b\x1fc",
    "\x02=hidden formula",
    "",
    "Trường Tiểu học",
    "plain",
]


async def test_sql_written_exports_match_the_python_writers(
    db: asyncpg.Pool, factory: Factory, database_url: str
) -> None:
    admin = await factory.admin()
    donor = await factory.donor(name="Quỹ SQL")
    donation = await db.fetchval(
        "INSERT INTO donations (donor_id, province_code, reference) VALUES ($1, '11', 'SQL-1')"
        " RETURNING id",
        donor,
    )
    assert admin
    for i, text in enumerate(TEXTS):
        await db.execute(
            """INSERT INTO devices (asset_tag, province_code, kind, make, model, serial, status,
                                    condition, donation_id, donor_id, note, received_at,
                                    last_seen_at, plan_quota_gb, warranty_until)
               VALUES ($1, '11', 'tablet', $2, $3, $4, 'in_stock', 'good', $5, $6, $7, $8, $9,
                       $10, $11)""",
            f"DX{i:09d}",
            text,
            text or None,
            f"S{i}",
            donation,
            donor,
            text,
            datetime(2026, 1, 2, 3, 4, 5, 0 if i % 2 else 120_000, tzinfo=UTC),
            None if i % 3 else datetime(2026, 5, 6, 7, 8, 9, 1, tzinfo=UTC),
            Decimal("3.50") if i % 2 else Decimal("10.00"),
            None if i % 2 else datetime(2027, 1, 31).date(),
        )
    engine = create_async_engine(async_url(database_url))
    try:
        statement = repo.export_query(
            [Device.donation_id == donation], export.COLUMNS, Device.__table__.c.note
        )
        written = b"".join(
            [chunk async for chunk in spreadsheet.csv_copy(engine, export.COLUMNS, statement)]
        )
        async with engine.connect() as connection:
            rows = [tuple(r) for r in (await connection.execute(statement)).all()]
        query = spreadsheet.Query.of(engine, spreadsheet.xlsx_sql(statement), 0)
    finally:
        await engine.dispose()
    assert len(rows) == len(TEXTS)
    python = spreadsheet.csv_bytes(export.COLUMNS, rows)
    # Byte for byte, but for the line ends (COPY writes LF; LF inside a field stays).
    assert written == python.replace(b"\r\n", b"\n")
    parsed = list(csv.reader(io.StringIO(written.decode("utf-8-sig"), newline="")))
    assert parsed == list(csv.reader(io.StringIO(python.decode("utf-8-sig"), newline="")))
    # The XLSX values: what the database prepares is what xlsx_cell makes of the stored ones.
    conn = await asyncpg.connect(query.dsn)
    try:
        prepared = [tuple(r) for r in await conn.fetch(query.sql, *query.params)]
    finally:
        await conn.close()
    assert prepared == [tuple(spreadsheet.xlsx_cell(v) for v in row) for row in rows]

"""Device exports: every matching row, no cap, flat memory. CSV streams batch by batch;
XLSX is written in a worker thread while the rows are fetched (common/spreadsheet.py).
Every cell passes the one formula rule there."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import IO, Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncEngine

from devicetrack.common import spreadsheet
from devicetrack.devices import repository as repo

COLUMNS = [
    "asset_tag",
    "kind",
    "make",
    "model",
    "serial",
    "imei",
    "status",
    "condition",
    "province_code",
    "donation_id",
    "donor_id",
    "school_id",
    "received_at",
    "last_seen_at",
    "warranty_until",
    "note",
    "iccid",
    "msisdn",
    "carrier",
    "plan_name",
    "plan_quota_gb",
    "plan_expires_on",
    "paid_by",
    "installed_in",
    "installed_sim",
]
DATES = {"warranty_until", "plan_expires_on"}  # days; the other times are timestamps
BATCH = 1000


def _values(row: Any) -> list[Any]:
    mapping = row._mapping
    return [mapping[c] for c in COLUMNS]


async def probe(engine: AsyncEngine, where: list[ColumnElement[bool]]) -> None:
    """Run the export's query for zero rows before the response starts, so a filter the
    database refuses becomes a clean 4xx instead of a stream cut off after its headers."""
    async with engine.connect() as conn:
        await conn.execute(repo.device_query(where).limit(0))


async def _batches(
    engine: AsyncEngine, where: list[ColumnElement[bool]]
) -> AsyncIterator[list[list[Any]]]:
    async with engine.connect() as conn:
        async for batch in repo.stream_device_batches(conn, where, BATCH):
            yield [_values(row) for row in batch]


async def csv_stream(engine: AsyncEngine, where: list[ColumnElement[bool]]) -> AsyncIterator[bytes]:
    """One chunk per batch of rows: the event loop serves other requests in between."""
    yield spreadsheet.csv_header(COLUMNS)
    async for batch in _batches(engine, where):
        yield spreadsheet.csv_rows(batch)


# How a person's workbook shows a column and a value (the pages pass their reader's
# language and time zone); the API's export keeps names and stored values as they are.
Heading = Callable[[str], str]
Present = Callable[[str, Any], Any]


async def xlsx_file(
    engine: AsyncEngine,
    where: list[ColumnElement[bool]],
    *,
    heading: Heading | None = None,
    present: Present | None = None,
) -> IO[bytes]:
    columns = [
        spreadsheet.Column(
            heading(name) if heading else name, spreadsheet.DAY if name in DATES else None
        )
        for name in COLUMNS
    ]

    def shown(values: Sequence[Any]) -> list[Any]:
        assert present is not None
        return [present(c, v) for c, v in zip(COLUMNS, values, strict=True)]

    return await spreadsheet.xlsx_file(
        "devices",
        columns,
        _batches(engine, where),
        freeze_col=1,
        prepare=shown if present is not None else None,
    )

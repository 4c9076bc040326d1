"""Streaming device exports: every matching row, no cap, flat memory."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncEngine

from devicetrack.auth.principal import Principal
from devicetrack.common.tabular import xlsx_safe
from devicetrack.devices import repository as repo
from devicetrack.devices.service import may_read_text

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


def _values(principal: Principal, row: Any) -> list[Any]:
    """A row's cells, its note blank for a caller who may not read it."""
    mapping = row._mapping
    shown = may_read_text(principal, ever_lent=mapping["ever_lent"], school_id=mapping["school_id"])
    return [mapping[c] if shown or c != "note" else None for c in COLUMNS]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


async def probe(engine: AsyncEngine, where: list[ColumnElement[bool]]) -> None:
    """Run the export's query for zero rows before the response starts, so a filter the
    database refuses becomes a clean 4xx instead of a stream cut off after its headers."""
    async with engine.connect() as conn:
        await conn.execute(repo.device_query(where).limit(0))


async def csv_stream(
    engine: AsyncEngine, principal: Principal, where: list[ColumnElement[bool]]
) -> AsyncIterator[bytes]:
    # The BOM makes Excel read the file as UTF-8, so Vietnamese text shows right.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode()
    buffer.seek(0)
    buffer.truncate()
    count = 0
    async with engine.connect() as conn:
        async for row in repo.stream_devices(conn, where):
            writer.writerow([_cell(v) for v in _values(principal, row)])
            count += 1
            if count % 1000 == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


# How a person's workbook shows a column and a value (the pages pass their reader's
# language and time zone); the API's export keeps names and stored values as they are.
Heading = Callable[[str], str]
Present = Callable[[str, Any], Any]


async def xlsx_stream(
    engine: AsyncEngine,
    principal: Principal,
    where: list[ColumnElement[bool]],
    *,
    heading: Heading | None = None,
    present: Present | None = None,
) -> AsyncIterator[bytes]:
    """openpyxl's write-only mode keeps rows on disk, not in memory; the finished file is
    then sent in chunks."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet("devices")
    sheet.freeze_panes = "B2"
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=heading(name) if heading else name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    async with engine.connect() as conn:
        async for row in repo.stream_devices(conn, where):
            values = _values(principal, row)
            if present is not None:
                values = [present(c, v) for c, v in zip(COLUMNS, values, strict=True)]
            sheet.append([_xlsx_cell(v) for v in values])
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        while chunk := handle.read(256 * 1024):
            yield chunk


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        return xlsx_safe(value)
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones; values are UTC
    if value is not None and type(value).__name__ == "Decimal":
        return float(value)
    return value

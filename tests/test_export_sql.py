"""The device CSV and XLSX written by PostgreSQL (spreadsheet.csv_sql + COPY;
spreadsheet.write_xlsx_copy) read the same as the Python writers' (csv_cell; write_xlsx,
rustpy-xlsxwriter fed xlsx_cell's values): hostile text, quotes, line breaks, control
characters, empty text, times with and without microseconds, decimals, and for the XLSX
cell by cell, style by style, with every other part of the package the same."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import asyncpg
import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy.ext.asyncio import create_async_engine

from devicetrack.common import spreadsheet
from devicetrack.db.engine import async_url
from devicetrack.devices import export
from devicetrack.devices import repository as repo
from devicetrack.tables import Device
from tests.factories import Factory

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

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
    finally:
        await engine.dispose()
    assert len(rows) == len(TEXTS)
    python = spreadsheet.csv_bytes(export.COLUMNS, rows)
    # Byte for byte, but for the line ends (COPY writes LF; LF inside a field stays).
    assert written == python.replace(b"\r\n", b"\n")
    parsed = list(csv.reader(io.StringIO(written.decode("utf-8-sig"), newline="")))
    assert parsed == list(csv.reader(io.StringIO(python.decode("utf-8-sig"), newline="")))


# What the XLSX writers must agree on: everything the CSV's texts hold, and what only an
# XLSX escapes (backslashes, tabs, `_xHHHH_`, U+FFFE, spaces at either end, XML's own).
XLSX_TEXTS = [
    *TEXTS,
    "C:\\thư mục\\máy 1",
    "a\tb",
    "tab at the end\t",
    "\ttab first",
    "line\nbreak\r\nand CR\r",
    "\n",
    "\x01\x02",  # nothing left once control characters are dropped: no cell
    " leading",
    "trailing ",
    " ",
    "\u00a0no-break space\u00a0",
    "_x0041_ and _x00a1_ and _X0041_",
    "\ufffe\uffff",
    "<b>bold</b> & 'quoted' \"double\" ]]>",
    "&amp;",
    "Trường Tiểu học Điện Biên Phủ — lớp 5A",
    "😀 emoji 👩‍🏫",
    "-",
    "'already quoted",
    "=\x03SUM(A1)",
    "\x02=hidden",
    "x" * 2000,
]


def _sheet_cells(path: Path) -> dict[str, tuple[Any, ...]]:
    """Each cell of the worksheet's XML as (style, type, value, xml:space)."""
    with zipfile.ZipFile(path) as book:
        root = ElementTree.fromstring(book.read(spreadsheet.SHEET))
    cells: dict[str, tuple[Any, ...]] = {}
    for c in root.iter(f"{MAIN}c"):
        v, t = c.find(f"{MAIN}v"), c.find(f"{MAIN}is/{MAIN}t")
        value = float(v.text or "") if v is not None else (t.text if t is not None else None)
        space = t.get("{http://www.w3.org/XML/1998/namespace}space") if t is not None else None
        cells[c.get("r", "")] = (c.get("s"), c.get("t"), value, space)
    return cells


def _parts(path: Path) -> dict[str, bytes]:
    """The package's parts but the worksheet, less the times of docProps/core.xml."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    parts["docProps/core.xml"] = re.sub(rb">\d{4}-[\dT:-]+Z<", b"><", parts["docProps/core.xml"])
    return parts


@pytest.mark.parametrize("rows", [len(XLSX_TEXTS), 0])
async def test_the_sql_written_xlsx_matches_the_writer_cell_by_cell(
    db: asyncpg.Pool, factory: Factory, database_url: str, tmp_path: Path, rows: int
) -> None:
    donor = await factory.donor(name="Quỹ XLSX")
    donation = await db.fetchval(
        "INSERT INTO donations (donor_id, province_code, reference) VALUES ($1, '11', 'X-1')"
        " RETURNING id",
        donor,
    )
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for i, text in enumerate(XLSX_TEXTS[:rows]):
        await db.execute(
            """INSERT INTO devices (asset_tag, province_code, kind, make, model, serial, status,
                                    condition, donation_id, donor_id, note, received_at,
                                    plan_quota_gb, warranty_until, plan_expires_on)
               VALUES ($1, '11', 'tablet', $2, $3, $4, 'in_stock', 'good', $5, $6, $7, $8, $9,
                       $10, $11)""",
            f"DY{i:09d}",
            text[:80],  # make and model are short; the note holds all of it
            text[:80] or None,
            f"S{i}",
            donation,
            donor,
            text,
            # Whole seconds and not, the last second of a day, a day before 1900-03-01.
            start + timedelta(seconds=86_399 * i, microseconds=999_999 * (i % 2)),
            [Decimal("3.50"), Decimal("0.01"), Decimal("123456.78"), None][i % 4],
            [date(2027, 1, 31), date(1900, 2, 28), date(1900, 3, 1), None][i % 4],
            date(2099, 12, 31) if i == 3 else None,
        )
    engine = create_async_engine(async_url(database_url))
    try:
        statement = repo.export_query(
            [Device.donation_id == donation], export.COLUMNS, Device.__table__.c.note
        )
        async with engine.connect() as connection:
            stored = [tuple(r) for r in (await connection.execute(statement)).all()]
        query = spreadsheet.SheetQuery.of(engine, statement, 0)
        # Text only: no column of days or times to count values of.
        texts = repo.export_query(
            [Device.donation_id == donation], ["asset_tag", "note"], Device.__table__.c.note
        )
        texts_query = spreadsheet.SheetQuery.of(engine, texts, 0)
    finally:
        await engine.dispose()
    assert len(stored) == rows
    # last_seen_at holds no value at all: the writer gives that column no date style.
    columns = [
        spreadsheet.Column(name, spreadsheet.DAY if name in export.DATES else None)
        for name in export.COLUMNS
    ]
    old, new = tmp_path / "old.xlsx", tmp_path / "new.xlsx"
    # The writer as it was fed before: each stored value as xlsx_cell makes it.
    spreadsheet.write_xlsx(str(old), "devices", columns, stored, freeze_col=1)
    # As in a worker process: an event loop of its own.
    await asyncio.to_thread(
        spreadsheet.write_xlsx_copy, str(new), "devices", columns, query, freeze_col=1
    )

    assert _sheet_cells(new) == _sheet_cells(old)
    assert _parts(new).keys() == _parts(old).keys()
    for name, data in _parts(old).items():
        if name != spreadsheet.SHEET:
            assert _parts(new)[name] == data, name
    # The worksheet's XML around the rows: dimension, frozen panes, columns' styles.
    with zipfile.ZipFile(old) as a, zipfile.ZipFile(new) as b:
        head_old, head_new = (z.read(spreadsheet.SHEET).split(b"<sheetData>")[0] for z in (a, b))
        tail_old, tail_new = (z.read(spreadsheet.SHEET).split(b"</sheetData>")[1] for z in (a, b))
    assert head_new == head_old and tail_new == tail_old
    assert b'<pane xSplit="1" ySplit="1"' in head_new
    # As the readers see them.
    calamine = [CalamineWorkbook.from_path(str(p)) for p in (old, new)]
    assert calamine[0].sheet_names == calamine[1].sheet_names == ["devices"]
    assert (
        calamine[1].get_sheet_by_index(0).to_python()
        == calamine[0].get_sheet_by_index(0).to_python()
    )
    books = [openpyxl.load_workbook(p) for p in (old, new)]
    cells = [
        [(c.value, c.data_type, c.number_format) for row in b.active.iter_rows() for c in row]
        for b in books
    ]
    assert cells[1] == cells[0]
    assert len(cells[1]) == (rows + 1) * len(export.COLUMNS)
    assert books[1].active.freeze_panes == books[0].active.freeze_panes == "B2"
    read_only = openpyxl.load_workbook(new, read_only=True).active
    assert read_only.max_row == rows + 1  # the dimension counts the rows
    text_columns = [spreadsheet.Column("asset_tag"), spreadsheet.Column("note", width=40)]
    await asyncio.to_thread(
        spreadsheet.write_xlsx_copy, str(tmp_path / "texts.xlsx"), "t", text_columns, texts_query
    )
    spreadsheet.write_xlsx(
        str(tmp_path / "texts-old.xlsx"), "t", text_columns, [(r[0], r[15]) for r in stored]
    )
    assert _sheet_cells(tmp_path / "texts.xlsx") == _sheet_cells(tmp_path / "texts-old.xlsx")
    with zipfile.ZipFile(tmp_path / "texts.xlsx") as book:
        assert f'<dimension ref="A1:B{rows + 1}"/>'.encode() in book.read(spreadsheet.SHEET)
    if rows:
        note = export.COLUMNS.index("note")
        by_tag = {r[0]: r for r in books[1].active.iter_rows(min_row=2, values_only=True)}
        # Spot checks that do not lean on the old writer: neutralised, escaped, typed.
        assert by_tag["DY000000000"][note] == "'=1+1"
        path = "C:\\thư mục\\máy 1"
        assert by_tag[f"DY{XLSX_TEXTS.index(path):09d}"][note] == path
        received = by_tag["DY000000001"][export.COLUMNS.index("received_at")]
        assert received == datetime(2026, 1, 3, 3, 4, 4)  # UTC, whole seconds

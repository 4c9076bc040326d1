"""Every CSV and XLSX the service writes goes through here.

Two rules hold for all of them:

* **No cell is a formula.** Text that begins with `=`, `+`, `-`, `@`, a tab, a carriage
  return or a line feed is what Excel, LibreOffice and Google Sheets run as a formula (the
  OWASP "CSV injection" rule), so such text gets a leading `'`: a device note
  `=HYPERLINK(…)` arrives as the text `'=HYPERLINK(…)`. Only text is touched: a number,
  negative or not, stays a number.
* **XLSX is written off the event loop, in bounded memory.** rustpy-xlsxwriter (Rust's
  rust_xlsxwriter) writes rows as they come, in a worker process (common/processes.py), into
  a temporary file that is sent and then disappears; rows that live in the database are
  fetched by the worker itself, batch by batch, with the query the app compiled. Measured
  against openpyxl's write-only mode and XlsxWriter's constant-memory mode in
  scripts/bench_xlsx_writers.py (README, "Measured").
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any, cast

from litestar.response import Stream
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    Text,
    case,
    func,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import Label

from devicetrack.common.heavy import HeavyWork

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
DAY = "yyyy-mm-dd"  # the number format of a column of days (times get a time too)

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# Characters an XLSX (XML 1.0) cannot hold; dropped rather than failing the export.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A sheet name may not hold these, nor be longer than 31 characters.
_NOT_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
CSV_BATCH = 1000
COPY_QUEUE = 8  # chunks of a COPY waiting for a slow reader
DB_BATCH = 2000
SEND_CHUNK = 256 * 1024


def neutralise(text: str) -> str:
    """Text as a spreadsheet shows it, never as a formula it runs."""
    return "'" + text if text.startswith(FORMULA_START) else text


# ---- CSV ---------------------------------------------------------------------------


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value  # numbers stay numbers (a negative number is data, not a formula)


def csv_header(header: Sequence[str]) -> bytes:
    """The first chunk of a CSV: a BOM (so Excel reads UTF-8 and shows Vietnamese right)
    and the header line."""
    return ("\ufeff" + _csv_text([header])).encode()


def csv_rows(rows: Iterable[Sequence[Any]]) -> bytes:
    return _csv_text(rows).encode()


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """A whole CSV in chunks of CSV_BATCH rows."""
    yield csv_header(header)
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CSV_BATCH:
            yield csv_rows(batch)
            batch = []
    if batch:
        yield csv_rows(batch)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return b"".join(csv_chunks(header, rows))


def _csv_text(rows: Iterable[Sequence[Any]], lineterminator: str = "\r\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


# ---- CSV written by PostgreSQL ----------------------------------------------------------
#
# A big CSV (every device: a million rows and more) is written by PostgreSQL itself, with
# `COPY (query) TO STDOUT (FORMAT csv)`, and the server only relays the bytes: formatting
# the rows in Python held the event loop and managed ~21,000 rows/s on the shared box. The
# query's columns are first turned into the text csv_cell would give, so the file reads the
# same: the formula rule as SQL, times as `datetime.isoformat` writes them, an empty text
# as nothing. Lines end in LF (COPY's only choice; every reader of CSV takes it).


def csv_sql(statement: Select[Any]) -> Select[Any]:
    """`statement` with each of its columns as csv_cell's text of it (NULL for nothing)."""
    columns = []
    for column in statement.selected_columns:
        value = column.element if isinstance(column, Label) else column
        kind = column.type
        cell: ColumnElement[Any]
        if isinstance(kind, DateTime):
            # Stored with a time zone; read back in UTC, as the driver's datetimes are.
            utc = func.timezone("UTC", value)
            micro = func.to_char(utc, "US")
            cell = (
                func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
                + case((micro == "000000", ""), else_="." + micro)
                + "+00:00"
            )
        elif isinstance(kind, Date):
            cell = func.to_char(value, "YYYY-MM-DD")
        elif isinstance(kind, Boolean):
            cell = case((value, "True"), (~value, "False"))
        elif isinstance(kind, Integer | Numeric):
            cell = sql_cast(value, Text)  # numbers stay numbers, as csv_cell keeps them
        else:
            cell = case(
                (func.left(value, 1).in_(FORMULA_START), "'" + value),
                else_=func.nullif(value, ""),
            )
        columns.append(cell.label(column.name))
    return statement.with_only_columns(*columns, maintain_column_froms=True)


def xlsx_sql(statement: Select[Any]) -> Select[Any]:
    """`statement` with each of its columns as xlsx_cell's value of it, so a worker hands
    the rows to the writer untouched: text without the characters XML cannot hold and by
    the formula rule, times in UTC without a zone, decimals as floats."""
    columns = []
    for column in statement.selected_columns:
        value = column.element if isinstance(column, Label) else column
        kind = column.type
        cell: ColumnElement[Any]
        if isinstance(kind, DateTime):
            cell = func.timezone("UTC", value)
        elif isinstance(kind, Numeric) and not isinstance(kind, Integer):
            cell = sql_cast(value, Float)
        elif isinstance(kind, Date | Integer | Boolean):
            cell = value
        else:
            clean = case(
                (
                    value.regexp_match(_NOT_XML.pattern),
                    func.regexp_replace(value, _NOT_XML.pattern, "", "g"),
                ),
                else_=value,
            )
            cell = case((func.left(clean, 1).in_(FORMULA_START), "'" + clean), else_=clean)
        columns.append(cell.label(column.name))
    return statement.with_only_columns(*columns, maintain_column_froms=True)


async def csv_copy(
    engine: AsyncEngine, header: Sequence[str], statement: Select[Any]
) -> AsyncIterator[bytes]:
    """A whole CSV (BOM and header first) of `statement`'s rows, written by PostgreSQL
    (csv_sql, COPY) and relayed in the chunks it arrives in (~36 KB), at most COPY_QUEUE
    of them waiting: a slow reader slows the COPY instead of filling memory."""
    yield ("\ufeff" + _csv_text([header], "\n")).encode()
    query = Query.of(engine, csv_sql(statement), 0)
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue(COPY_QUEUE)

        # One statement for the whole file, and most of its time is the reader's (a phone
        # downloads 200 MB slowly): the statement timeout would cut it off. The slot
        # (HeavyWork) bounds how many run, and a reader that goes away ends it (the
        # connection is dropped, below). LOCAL: the connection's transaction (begun here)
        # is rolled back when it goes back to the pool, and the setting with it.
        await connection.execute(text("SET LOCAL statement_timeout = 0"))

        async def copy() -> None:
            try:
                await driver.copy_from_query(
                    query.sql, *query.params, output=chunks.put, format="csv"
                )
            finally:
                await chunks.put(None)

        task = asyncio.ensure_future(copy())
        try:
            while (chunk := await chunks.get()) is not None:
                yield bytes(chunk)  # the driver hands out bytearrays
            await task  # its error, if it failed
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                # The COPY was cut off: this connection is not reused.
                await connection.invalidate()


# ---- XLSX --------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    heading: str
    # An Excel number format for the column's values ("0.0", "yyyy-mm-dd", "#,##0").
    num_format: str | None = None
    width: float | None = None


def xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(_NOT_XML.sub("", value))
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: a stored time is written as UTC (the pages convert to
        # the reader's clock before this).
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    return value


def sheet_name(title: str) -> str:
    return _NOT_SHEET_NAME.sub(" ", _NOT_XML.sub("", title)).strip("' ")[:31] or "Sheet1"


def _headings(columns: Sequence[Column]) -> list[str]:
    """Column headings, made unique: the writer keys a row's cells by heading."""
    seen: set[str] = set()
    out: list[str] = []
    for column in columns:
        name = base = neutralise(_NOT_XML.sub("", column.heading)) or "-"
        n = 2
        while name in seen:
            name, n = f"{base} ({n})", n + 1
        seen.add(name)
        out.append(name)
    return out


def write_xlsx(
    target: str,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    freeze_col: int = 0,
    prepare: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
    converted: bool = False,
) -> None:
    """Write one sheet (bold header row, frozen) to the file `target`. Blocking: it runs in
    a worker process (HeavyWork.file). Rows are consumed one at a time, so memory stays
    flat; `prepare` turns a row into what the reader sees. `converted`: the rows' values
    are xlsx_cell's already (xlsx_sql: the database did it)."""
    from rustpy_xlsxwriter import Format, write_worksheet

    headings = _headings(columns)

    def records() -> Iterator[dict[str, Any]]:
        empty = True
        for row in rows:
            empty = False
            if converted:
                yield dict(zip(headings, row, strict=False))
                continue
            values = prepare(row) if prepare is not None else row
            yield dict(zip(headings, [xlsx_cell(v) for v in values], strict=False))
        if empty:
            # The writer takes its header from the first record: an empty sheet still
            # gets its header row (a record of blanks writes no cells).
            yield dict.fromkeys(headings)

    write_worksheet(
        records(),
        target,
        sheet_name=sheet_name(title),
        bold_headers=True,
        freeze_row=1,
        freeze_col=freeze_col or None,
        datetime_format="yyyy-mm-dd hh:mm:ss",
        column_formats={
            h: Format().set_num_format(c.num_format)
            for h, c in zip(headings, columns, strict=True)
            if c.num_format
        }
        or None,
        column_widths={h: c.width for h, c in zip(headings, columns, strict=True) if c.width}
        or None,
    )


async def xlsx_file(
    heavy: HeavyWork,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    freeze_col: int = 0,
) -> IO[bytes]:
    """A workbook of rows already in memory (a report), written by a worker process."""
    return await heavy.file(
        ".xlsx", write_xlsx, title, list(columns), list(rows), freeze_col=freeze_col
    )


@dataclass(frozen=True)
class Sheet:
    """One sheet of a small workbook: its title, columns and rows, all in memory."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]


def write_xlsx_book(target: str, sheets: Sequence[Sheet]) -> None:
    """Write several small sheets (bold, frozen header row each) to the file `target`, by
    the same rules as write_xlsx. Blocking: it runs in a worker process."""
    from rustpy_xlsxwriter import write_worksheets

    entries: list[tuple[str, Any]] = []
    widths: dict[str, dict[str, float]] = {}
    for sheet in sheets:
        headings = _headings(sheet.columns)
        records = [
            dict(zip(headings, [xlsx_cell(v) for v in row], strict=False)) for row in sheet.rows
        ] or [dict.fromkeys(headings)]
        name = sheet_name(sheet.title)
        entries.append((name, records))
        widths[name] = {h: c.width for h, c in zip(headings, sheet.columns, strict=True) if c.width}
    write_worksheets(
        entries,
        target,
        bold_headers=True,
        freeze_panes={"general": {"row": 1, "col": 0}},
        column_widths={name: w for name, w in widths.items() if w} or None,
    )


async def xlsx_book(heavy: HeavyWork, sheets: Sequence[Sheet]) -> IO[bytes]:
    """A small workbook of several sheets (an import template), written by a worker
    process."""
    return await heavy.file(".xlsx", write_xlsx_book, list(sheets))


# ---- XLSX straight from the database ------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A SELECT as a worker process runs it on a connection of its own: SQL with $n
    placeholders and its parameters, compiled by the app (scope filters included)."""

    dsn: str
    sql: str
    params: tuple[Any, ...]
    statement_timeout_ms: int = 0

    @classmethod
    def of(cls, engine: AsyncEngine, statement: Select[Any], statement_timeout_ms: int) -> Query:
        compiled = statement.compile(
            dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(
            dsn=url,
            sql=str(compiled),
            params=tuple(compiled.params[name] for name in compiled.positiontup or ()),
            statement_timeout_ms=statement_timeout_ms,
        )


def write_xlsx_query(
    target: str,
    title: str,
    columns: Sequence[Column],
    query: Query,
    *,
    freeze_col: int = 0,
    prepare: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
    converted: bool = False,
) -> None:
    """In a worker process: fetch the rows batch by batch on an event loop of its own while
    a thread writes them, so neither waits long for the other and memory stays flat.
    `converted`: the query is xlsx_sql's (its values go to the writer as they are)."""
    asyncio.run(_write_from_database(target, title, columns, query, freeze_col, prepare, converted))


async def _write_from_database(
    target: str,
    title: str,
    columns: Sequence[Column],
    query: Query,
    freeze_col: int,
    prepare: Callable[[Sequence[Any]], Sequence[Any]] | None,
    converted: bool = False,
) -> None:
    import asyncpg

    settings = {"application_name": "devicetrack-export"}
    if query.statement_timeout_ms:
        settings["statement_timeout"] = str(query.statement_timeout_ms)
    conn = await asyncpg.connect(query.dsn, server_settings=settings)
    try:
        async with conn.transaction(readonly=True):  # a cursor lives in a transaction
            cursor = await conn.cursor(query.sql, *query.params)

            async def batches() -> AsyncIterator[Sequence[Sequence[Any]]]:
                # One batch ahead: the next is fetched while the writer writes this one.
                ahead = asyncio.ensure_future(cursor.fetch(DB_BATCH))
                while batch := await ahead:
                    ahead = asyncio.ensure_future(cursor.fetch(DB_BATCH))
                    # asyncpg's Records index by position like tuples.
                    yield cast("Sequence[Sequence[Any]]", batch)

            loop = asyncio.get_running_loop()
            await asyncio.to_thread(
                write_xlsx,
                target,
                title,
                columns,
                _pulled(batches(), loop),
                freeze_col=freeze_col,
                prepare=prepare,
                converted=converted,
            )
    finally:
        await conn.close()


def _pulled(
    batches: AsyncIterator[Sequence[Sequence[Any]]], loop: asyncio.AbstractEventLoop
) -> Iterator[Sequence[Any]]:
    """A writer thread's rows, fetched one batch at a time on the event loop."""
    while True:
        batch = asyncio.run_coroutine_threadsafe(anext(batches, None), loop).result()
        if batch is None:
            return
        yield from batch


async def send_file(handle: IO[bytes]) -> AsyncIterator[bytes]:
    with handle:
        while chunk := handle.read(SEND_CHUNK):
            yield chunk


def download(handle: IO[bytes], filename: str, media_type: str) -> Stream:
    """A finished file as the response: its size known, sent in chunks, closed after."""
    size = os.fstat(handle.fileno()).st_size
    return Stream(
        send_file(handle),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
        },
    )

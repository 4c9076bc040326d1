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
  scripts/bench_xlsx_writers.py (README, "Measured"). A workbook of stored values (the
  API's device export) has its worksheet's rows written by PostgreSQL instead, around
  what rustpy-xlsxwriter writes for its columns (write_xlsx_copy, below).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import zipfile
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
    select,
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
) -> None:
    """Write one sheet (bold header row, frozen) to the file `target`. Blocking: it runs in
    a worker process (HeavyWork.file). Rows are consumed one at a time, so memory stays
    flat; `prepare` turns a row into what the reader sees."""
    from rustpy_xlsxwriter import Format, write_worksheet

    headings = _headings(columns)

    def records() -> Iterator[dict[str, Any]]:
        empty = True
        for row in rows:
            empty = False
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
) -> None:
    """In a worker process: fetch the rows batch by batch on an event loop of its own while
    a thread writes them (each row shown by `prepare`), so neither waits long for the other
    and memory stays flat."""
    asyncio.run(_write_from_database(target, title, columns, query, freeze_col, prepare))


async def _write_from_database(
    target: str,
    title: str,
    columns: Sequence[Column],
    query: Query,
    freeze_col: int,
    prepare: Callable[[Sequence[Any]], Sequence[Any]] | None,
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


# ---- XLSX written by PostgreSQL ---------------------------------------------------------
#
# A workbook of stored values (the API's device export: 100,000 rows and more) is written
# the way the big CSV is: PostgreSQL turns each row into its `<row>` of the worksheet's
# XML and sends them with one COPY; the worker process only deflates them into the zip,
# between a head and a tail that rustpy-xlsxwriter wrote for the same columns (a template
# of the heading row and one row of sample values, so the styles, panes, widths and the
# other parts of the package are the writer's own). Through the server, 100,000 rows went
# from 35,000–39,000 rows/s (the writer fed row by row from Python) to 59,000–80,000 once
# the worker process runs; the first export after a start also pays for that process's
# imports (~3 s): 16,000 then, 18,000–22,000 now. See the README, "Measured".
#
# The cells read as rustpy-xlsxwriter writes them from xlsx_cell's values: text without
# the characters XML cannot hold and by the formula rule, as an inline string (escaped as
# the writer escapes it: `&<>`, CR as `_x000D_`, an `_xHHHH_` already in the text as
# `_x005F_xHHHH_`, xml:space="preserve" where it begins or ends with a space, tab or line
# feed); numbers as numbers; days and times (UTC, whole seconds, as the writer keeps them)
# as serial numbers with the writer's date style; no cell for NULL or empty text.
# Backslash, tab and line feed are written as character references (`&#92;` …), which XML
# reads as the same characters, so COPY's text format has nothing to escape and its line
# ends are whitespace between rows, dropped.

SHEET = "xl/worksheets/sheet1.xml"
MAX_ROWS = 1_048_576  # Excel's limit, the heading row included
# zlib's fastest level: the XML is repetitive enough (the 100,000-device export: 60 MB to
# ~6 MB) and the worker, niced, gets little CPU on a busy box.
ZIP_LEVEL = 1
# Kinds of column, and the value the template's sample row holds for each.
_SAMPLE: dict[str, Any] = {
    "text": "x",
    "int": 1,
    "float": 1.5,
    "bool": True,
    "date": date(2000, 1, 1),
    "datetime": datetime(2000, 1, 1),
}
_DATED = ("date", "datetime")
# A row with any of these in its text takes the careful path (cell by cell); the others,
# nearly all, are only joined. Control characters are dropped (_NOT_XML), the rest escaped.
_SPECIAL = r"[\x01-\x08\x0b\x0c\x0e-\x1f&<>\\\t\n\r\uFFFE\uFFFF]|_x[0-9A-Fa-f]{4}_"
_CONTROL = "".join(chr(c) for c in range(1, 32) if chr(c) not in "\t\n\r")
# How the careful path escapes text, in this order (the `_xHHHH_` rule first, so the
# escapes it adds for CR and U+FFFE/F are not escaped again).
_ESCAPES = [
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("\\", "&#92;"),
    ("\t", "&#9;"),
    ("\n", "&#10;"),
    ("\r", "_x000D_"),
    ("\ufffe", "_xFFFE_"),
    ("\uffff", "_xFFFF_"),
]
# Code points of FORMULA_START, for ascii(), which PostgreSQL answers without copying text.
_FORMULA_CODES = ", ".join(str(ord(c)) for c in FORMULA_START)


def column_kind(kind: Any) -> str:
    """How a column of this SQL type is written: one of _SAMPLE's kinds."""
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Integer):
        return "int"
    if isinstance(kind, Numeric | Float):
        return "float"
    return "text"


@dataclass(frozen=True)
class SheetQuery:
    """A SELECT whose rows PostgreSQL writes as a worksheet's XML (write_xlsx_copy): the
    statement as it is, each column's kind, and a count of its rows (the sheet's
    dimension) and of the values in each column of days or times (the writer gives such a
    column its date style only when it holds one)."""

    rows: Query
    count: Query
    kinds: tuple[str, ...]

    @classmethod
    def of(
        cls, engine: AsyncEngine, statement: Select[Any], statement_timeout_ms: int
    ) -> SheetQuery:
        kinds = tuple(column_kind(c.type) for c in statement.selected_columns)
        rows = statement.order_by(None).subquery()
        dated: list[ColumnElement[Any]] = [
            func.count(c) for c, k in zip(rows.c, kinds, strict=True) if k in _DATED
        ]
        counts: Select[Any] = select(*[func.count(), *dated]).select_from(rows)
        return cls(
            rows=Query.of(engine, statement, statement_timeout_ms),
            count=Query.of(engine, counts, statement_timeout_ms),
            kinds=kinds,
        )


def _sql_text(value: str) -> str:
    """A constant as an SQL literal (E'' where it holds control characters)."""
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    escaped = "".join(
        f"\\x{ord(c):02x}" if ord(c) < 32 else "\\\\" if c == "\\" else "''" if c == "'" else c
        for c in value
    )
    return "E'" + escaped + "'"


def column_letters(index: int) -> str:
    """A column's letters (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_rows_sql(sql: str, kinds: Sequence[str], styles: Sequence[str]) -> str:
    """`sql` (its $n parameters unchanged) as one text column: each row's `<row>` element,
    numbered from 2 (the heading row is 1). `styles[i]` is column i's ` s="n"` attribute
    (or "") as the template has it.

    Three levels: the numbering (and whether a row needs the careful path: one regular
    expression over its joined text), then the dropping of control characters in such
    rows, then the XML. OFFSET 0 keeps PostgreSQL from merging the levels, which would
    evaluate a column's expression once per mention."""
    names = [f"c{i}" for i in range(len(kinds))]
    texts = [n for n, k in zip(names, kinds, strict=True) if k == "text"]
    special = f"concat({', '.join(f'b.{n}' for n in texts)}) ~ {_sql_text(_SPECIAL)}"
    numbered = ", ".join(
        f"nullif(b.{n}, '') AS {n}" if k == "text" else f"b.{n}"
        for n, k in zip(names, kinds, strict=True)
    )
    cleaned = ", ".join(
        f"CASE WHEN a.special THEN nullif(translate(a.{n}, {_sql_text(_CONTROL)}, ''), '')"
        f" ELSE a.{n} END AS {n}"
        if k == "text"
        else f"a.{n}"
        for n, k in zip(names, kinds, strict=True)
    )

    def cell(i: int, name: str, kind: str, careful: bool) -> str:
        v = f"r.{name}"
        ref = f"'<c r=\"{column_letters(i)}' || r.n || '\"{styles[i]}"
        if kind == "text":
            shown = f"(CASE WHEN ascii({v}) IN ({_FORMULA_CODES}) THEN '''' || {v} ELSE {v} END)"
            if careful:
                edges = f"(' ', {_sql_text(chr(9))}, {_sql_text(chr(10))})"
                space = f"left({shown}, 1) IN {edges} OR right({shown}, 1) IN {edges}"
                value = f"regexp_replace({shown}, '_(x[0-9A-Fa-f]{{4}}_)', '_x005F_\\1', 'g')"
                for char, escape in _ESCAPES:
                    value = f"replace({value}, {_sql_text(char)}, {_sql_text(escape)})"
            else:
                space = f"{v} LIKE ' %' OR {v} LIKE '% '"
                value = shown
            return (
                f'{ref} t="inlineStr"><is><t\' || CASE WHEN {space}'
                f" THEN ' xml:space=\"preserve\">' ELSE '>' END || {value} || '</t></is></c>'"
            )
        if kind == "bool":
            return f"{ref} t=\"b\"><v>' || CASE WHEN {v} THEN '1' ELSE '0' END || '</v></c>'"
        if kind == "date":
            # Excel counts 1900-02-29, a day that never was: earlier days are one less.
            serial = f"({v} - CASE WHEN {v} < DATE '1900-03-01' THEN DATE '1899-12-31'"
            serial += " ELSE DATE '1899-12-30' END)::text"
        elif kind == "datetime":
            # In UTC, to the second, day + seconds / 86400 in float8 as the writer does.
            utc = f"timezone('UTC', {v})"
            day = f"({utc}::date - CASE WHEN {utc} < TIMESTAMP '1900-03-01' THEN"
            day += " DATE '1899-12-31' ELSE DATE '1899-12-30' END)::float8"
            serial = f"({day} + floor(date_part('epoch', {utc}::time)) / 86400)::text"
        elif kind == "float":
            serial = f"{v}::float8::text"
        else:
            serial = f"{v}::text"
        return f"{ref}><v>' || {serial} || '</v></c>'"

    def row(careful: bool) -> str:
        cells = ", ".join(
            cell(i, n, k, careful) for i, (n, k) in enumerate(zip(names, kinds, strict=True))
        )
        return f"concat('<row r=\"', r.n, '\">', {cells}, '</row>')"

    return (
        f"SELECT CASE WHEN r.special THEN {row(True)} ELSE {row(False)} END FROM ("
        f"SELECT a.n, a.special, {cleaned} FROM ("
        f"SELECT (row_number() OVER () + 1)::text AS n, "
        f"{special if texts else 'false'} AS special, {numbered} "
        f"FROM ({sql}) AS b({', '.join(names)})"
        ") AS a OFFSET 0) AS r"
    )


@dataclass(frozen=True)
class _Template:
    """What rustpy-xlsxwriter writes for the columns, around the rows."""

    parts: list[tuple[str, bytes]]
    head: bytes  # the worksheet up to its heading row's end, its dimension to be filled in
    tail: bytes  # from </sheetData> on
    styles: list[str]  # each column's ` s="n"` in a data row, or ""


def _template(
    path: str,
    title: str,
    columns: Sequence[Column],
    kinds: Sequence[str],
    present: Sequence[bool],
    freeze_col: int,
) -> _Template:
    """`present[i]`: column i holds a value (its sample is None otherwise)."""
    sample = [_SAMPLE[k] if p else None for k, p in zip(kinds, present, strict=True)]
    write_xlsx(path, title, columns, [sample], freeze_col=freeze_col)
    try:
        with zipfile.ZipFile(path) as book:
            parts = [(info.filename, book.read(info)) for info in book.infolist()]
    finally:
        os.unlink(path)
    sheet = next(data for name, data in parts if name == SHEET).decode()
    end = sheet.index("</sheetData>")
    start = sheet.find('<row r="2"', 0, end)
    start = end if start < 0 else start  # no sample at all: every column is empty
    found = dict(re.findall(r'<c r="([A-Z]+)2"((?: s="\d+")?)', sheet[start:end]))
    return _Template(
        parts=parts,
        head=sheet[:start].encode(),
        tail=sheet[end:].encode(),
        # A column without a sample has no cell to style either.
        styles=[found.get(column_letters(i), "") for i in range(len(kinds))],
    )


def write_xlsx_copy(
    target: str, title: str, columns: Sequence[Column], query: SheetQuery, *, freeze_col: int = 0
) -> None:
    """In a worker process: the workbook of `query`'s rows, written by PostgreSQL (COPY)
    into the worksheet, deflated into `target` as the chunks arrive; memory stays flat."""
    asyncio.run(_copy_into_sheet(target, title, columns, query, freeze_col))


async def _copy_into_sheet(
    target: str, title: str, columns: Sequence[Column], query: SheetQuery, freeze_col: int
) -> None:
    import asyncpg

    settings = {"application_name": "devicetrack-export"}
    if query.rows.statement_timeout_ms:
        settings["statement_timeout"] = str(query.rows.statement_timeout_ms)
    conn = await asyncpg.connect(query.rows.dsn, server_settings=settings)
    try:
        # One snapshot for the counts (the sheet's dimension, written first) and the rows.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            counts = await conn.fetchrow(query.count.sql, *query.count.params)
            assert counts is not None  # an aggregate without GROUP BY has one row
            count, *dated = counts
            if count + 1 > MAX_ROWS:
                raise ValueError(f"{count:,} rows: a worksheet holds {MAX_ROWS - 1:,} at most")
            values = iter(dated)
            present = [next(values) > 0 if k in _DATED else True for k in query.kinds]
            template = _template(
                target + ".template.xlsx", title, columns, query.kinds, present, freeze_col
            )
            sql = sheet_rows_sql(query.rows.sql, query.kinds, template.styles)
            last = f"{column_letters(len(query.kinds) - 1)}{count + 1}"
            head = re.sub(
                rb'<dimension ref="[^"]*"/>',
                f'<dimension ref="A1:{last}"/>'.encode(),
                template.head,
                count=1,
            )
            with zipfile.ZipFile(
                target, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
            ) as book:
                # Fresh entries (names and bytes only), in the writer's order.
                for name, data in template.parts:
                    if name != SHEET:
                        book.writestr(name, data)
                        continue
                    with book.open(SHEET, "w") as sheet:
                        sheet.write(head)

                        async def write(chunk: bytes) -> None:
                            # COPY's line ends: whitespace between rows, dropped.
                            sheet.write(chunk.replace(b"\n", b""))

                        await conn.copy_from_query(sql, *query.rows.params, output=write)
                        sheet.write(template.tail)
    finally:
        await conn.close()


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

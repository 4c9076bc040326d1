"""Reading uploaded CSV and XLSX tables into rows of strings keyed by canonical column.

Row numbers are the spreadsheet's own (the header is row 1), so an error message points
at the row a person sees when opening the file.

Every upload is parsed in a worker thread (`parse_table`), within the limits of
`UploadLimits`; each limit, when passed, is answered with a problem that names it (413
for the size of the whole, 422 for a cell or the header). XLSX is read by python-calamine
in a child process (see xlsx_child.py for why), after the zip's declared sizes are checked.
"""

from __future__ import annotations

import codecs
import csv
import os
import struct
import subprocess
import sys
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import msgspec

from devicetrack.common.words import fold, folded_map
from devicetrack.common.workers import off_loop, release
from devicetrack.config import Settings
from devicetrack.errors import FieldError, PayloadTooLarge, ValidationFailed
from devicetrack.i18n import N_, Message, N_plural

V = TypeVar("V")

XLSX_MAGIC = b"PK\x03\x04"
# An XLSX names a few dozen parts; its zip directory is a few KB. A larger directory is
# refused before Python's zipfile builds an object per entry (1.4 million fit in 64 MB).
MAX_ZIP_DIRECTORY_BYTES = 1024 * 1024
# Reading the sheet takes a few seconds for 100,000 rows; a child still busy after this
# long is stopped.
XLSX_SECONDS = 120
CHILD = Path(__file__).with_name("xlsx_child.py")
TEXT_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """The caps on one uploaded table (Settings.upload_*; README "Uploads")."""

    max_rows: int = 200_000
    max_columns: int = 100
    max_cell_chars: int = 4_000
    max_xlsx_bytes: int = 100 * 1024 * 1024
    reader_memory_bytes: int = 2 * 1024 * 1024 * 1024

    @classmethod
    def of(cls, settings: Settings) -> UploadLimits:
        return cls(
            max_rows=settings.upload_max_rows,
            max_columns=settings.upload_max_columns,
            max_cell_chars=settings.upload_max_cell_chars,
            max_xlsx_bytes=settings.upload_max_xlsx_bytes,
            reader_memory_bytes=settings.upload_reader_memory_bytes,
        )


class Rows(Sequence[tuple[int, dict[str, V]]], Generic[V]):
    """A table's rows as (spreadsheet row number, cells by column), kept as two flat lists.
    A tuple holding a dict stays tracked by the garbage collector, and with a tuple per row
    every full collection during a big upload walked 100,000s of them while holding the
    interpreter, the event loop included, for 0.1-0.2 s. Dicts of strings are not tracked.
    A table's cells are strings (Rows[str]); a JSON list's values may be numbers too."""

    __slots__ = ("cells", "numbers")

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.cells: list[dict[str, V]] = []

    def append(self, number: int, cells: dict[str, V]) -> None:
        self.numbers.append(number)
        self.cells.append(cells)

    async def release(self) -> None:
        """Free the rows a slice at a time (see workers.release); the table is empty after."""
        await release(self.numbers, self.cells)

    def __len__(self) -> int:
        return len(self.numbers)

    def __iter__(self) -> Iterator[tuple[int, dict[str, V]]]:
        return zip(self.numbers, self.cells, strict=True)

    @overload
    def __getitem__(self, index: int) -> tuple[int, dict[str, V]]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, dict[str, V]]]: ...
    def __getitem__(
        self, index: int | slice
    ) -> tuple[int, dict[str, V]] | list[tuple[int, dict[str, V]]]:
        if isinstance(index, slice):
            return list(zip(self.numbers[index], self.cells[index], strict=True))
        return self.numbers[index], self.cells[index]


@dataclass
class Table:
    columns: list[str]
    rows: Rows[str]


def _norm_header(name: str) -> str:
    folded = unicodedata.normalize("NFC", name).strip().lower()
    return folded.replace(" ", "_").replace("-", "_")


# The refusal of a file checked row by row: every import says it the same way.
ROWS_WRONG = N_plural(
    "{n} row is wrong; nothing was imported.", "{n} rows are wrong; nothing was imported."
)


def too_many_rows(limits: UploadLimits) -> PayloadTooLarge:
    return PayloadTooLarge(
        N_("The file has more than {max:,} rows; split it into smaller files."),
        errors=[
            FieldError(
                field="file", message=Message(N_("more than {max:,} rows"), max=limits.max_rows)
            )
        ],
        max=limits.max_rows,
        extra={"limit": "upload_max_rows", "max": limits.max_rows},
    )


def _too_many_columns(limits: UploadLimits) -> ValidationFailed:
    return ValidationFailed(
        N_("The file has more than {max:,} columns."),
        errors=[
            FieldError(
                row=1, message=Message(N_("more than {max:,} columns"), max=limits.max_columns)
            )
        ],
        max=limits.max_columns,
        extra={"limit": "upload_max_columns", "max": limits.max_columns},
    )


def _too_long(limits: UploadLimits, row: int, field: str | None = None) -> FieldError:
    return FieldError(
        row=row,
        field=field,
        message=Message(N_("longer than {max:,} characters"), max=limits.max_cell_chars),
    )


# ---- CSV --------------------------------------------------------------------------


def _text_lines(data: bytes, encoding: str) -> Iterator[str]:
    """The text as lines (each with its "\n"), decoded and NFC-composed a megabyte at a
    time: one call over 60 MB would hold the interpreter for a noticeable while. Pieces
    end at a line break, where no combining mark can be split from its letter."""
    decoder = codecs.getincrementaldecoder(encoding)()
    pending: list[str] = []  # text after the last line break, kept until the next one
    carriage = ""  # a CR ending a chunk, until the next shows whether an LF follows it
    view = memoryview(data)
    for offset in range(0, len(data), TEXT_CHUNK):
        final = offset + TEXT_CHUNK >= len(data)
        text = carriage + decoder.decode(view[offset : offset + TEXT_CHUNK], final)
        carriage = ""
        if not final and text.endswith("\r"):
            text, carriage = text[:-1], "\r"
        if "\r" in text:
            # Every line ending becomes LF: CRLF (Windows), and the lone CR of the
            # "CSV (Macintosh)" that Excel for Mac still offers.
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        cut = len(text) if final else text.rfind("\n") + 1
        if not cut:
            pending.append(text)  # one very long line: joined once, when it ends
            continue
        piece = "".join([*pending, text[:cut]]) if pending else text[:cut]
        pending = [text[cut:]]
        if not piece.isascii():
            # Vietnamese text may arrive decomposed (NFD) from some spreadsheets; cells
            # are stored NFC.
            piece = unicodedata.normalize("NFC", piece)
        lines = piece.split("\n")
        last = lines.pop()
        for line in lines:
            yield line + "\n"
        if last:
            yield last
    if rest := "".join(pending):
        yield rest


def _csv_rows(data: bytes, encoding: str, limits: UploadLimits) -> Generator[list[str], None, None]:
    lines = _text_lines(data, encoding)
    head: list[str] = []
    size = 0
    for line in lines:
        head.append(line)
        size += len(line)
        if size >= 4096:
            break
    try:
        dialect = csv.Sniffer().sniff("".join(head)[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    if csv.field_size_limit() <= limits.max_cell_chars:
        csv.field_size_limit(limits.max_cell_chars + 1)
    # Strict: a quote left open to the end of the file, or text after a closing quote, is
    # refused by row (the lenient reader took the rest of the file into one cell, or
    # dropped the quote, and imported the row shifted). A quote inside a quoted cell is
    # doubled and the quote is '"', as every spreadsheet writes them, whatever the sniffer
    # guessed from a sample (it takes cells like 'Latitude' for quoted ones).
    yield from csv.reader(
        _chain(head, lines), dialect, strict=True, doublequote=True, quotechar='"'
    )


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest


# ---- XLSX -------------------------------------------------------------------------


def _zip_directory_size(data: bytes) -> int | None:
    """The size of the zip's central directory from its end record (None: no record)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        return None
    size: int = struct.unpack_from("<L", data, at + 12)[0]
    return size


def check_xlsx_size(data: bytes, limits: UploadLimits) -> None:
    """Refuse a workbook whose parts, decompressed, would exceed the cap, from the sizes
    the zip declares (a 488 KB file can hold 500 MB of shared strings). A zip that lies
    about them meets the reader's memory limit instead (xlsx_child.py)."""
    directory = _zip_directory_size(data)
    if directory is None or directory > MAX_ZIP_DIRECTORY_BYTES:
        raise _unreadable()
    try:
        with zipfile.ZipFile(BytesIO(data)) as book:
            declared = sum(info.file_size for info in book.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise _unreadable() from exc
    if declared > limits.max_xlsx_bytes:
        mb = limits.max_xlsx_bytes // (1024 * 1024)
        raise PayloadTooLarge(
            N_("The workbook holds {declared:,} MB once decompressed; at most {mb:,} MB are read."),
            errors=[
                FieldError(
                    field="file", message=Message(N_("more than {mb:,} MB decompressed"), mb=mb)
                )
            ],
            declared=declared // (1024 * 1024),
            mb=mb,
            extra={"limit": "upload_max_xlsx_bytes", "max": limits.max_xlsx_bytes},
        )


def _too_much_text(limits: UploadLimits) -> PayloadTooLarge:
    mb = limits.max_xlsx_bytes // (1024 * 1024)
    return PayloadTooLarge(
        N_(
            "The workbook's cells hold more than {chars:,} characters in all "
            "(at most {mb:,} MB are read); split it into smaller files."
        ),
        errors=[
            FieldError(field="file", message=Message(N_("more than {mb:,} MB of cell text"), mb=mb))
        ],
        chars=limits.max_xlsx_bytes,
        mb=mb,
        extra={"limit": "upload_max_xlsx_bytes", "max": limits.max_xlsx_bytes},
    )


@dataclass
class Lost:
    """Cells holding numbers too long for Excel: where the first MAX_LISTED_ERRORS are
    (row, column index), and how many there are."""

    cells: list[tuple[int, int]]
    count: int = 0


def _unreadable() -> ValidationFailed:
    return ValidationFailed(
        N_("The XLSX file could not be read."),
        errors=[FieldError(field="file", message=N_("not a readable XLSX workbook"))],
    )


def _xlsx_rows(
    data: bytes, limits: UploadLimits, lost: Lost, first_row: list[int]
) -> Generator[list[str], None, None]:
    """The first sheet's rows as text, read by the child process. Its first row number
    goes to `first_row` (calamine starts at the first row holding a value); numbers too
    long for Excel go to `lost`. The cells' texts together may hold at most
    `max_xlsx_bytes` characters (413 past that: see xlsx_child.py)."""
    check_xlsx_size(data, limits)
    # The child reads a file; it is removed however the reading ends (a failed write or
    # start of the child included).
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        yield from _child_rows(path, limits, lost, first_row)
    finally:
        os.unlink(path)


def _child_rows(
    path: str, limits: UploadLimits, lost: Lost, first_row: list[int]
) -> Generator[list[str], None, None]:
    """The rows the child process reads from the XLSX file at `path`."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-I",
            str(CHILD),
            path,
            str(limits.reader_memory_bytes),
            str(limits.max_rows),
            str(limits.max_columns),
            str(limits.max_cell_chars),
            str(limits.max_xlsx_bytes),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    watchdog = threading.Timer(XLSX_SECONDS, child.kill)
    watchdog.start()
    decode = msgspec.msgpack.Decoder().decode
    assert child.stdout is not None
    message: dict[str, Any] = {}
    try:
        ended = False
        while not ended:
            size = child.stdout.read(4)
            if len(size) < 4:
                break
            message = decode(child.stdout.read(int.from_bytes(size, "big")))
            if message.get("error") == "text":
                raise _too_much_text(limits)
            if "error" in message:
                break
            if "height" in message:
                if message["height"] > limits.max_rows + 1:
                    raise too_many_rows(limits)
                if message["width"] > limits.max_columns:
                    raise _too_many_columns(limits)
                first_row.append(message["first_row"])
                continue
            yield from message["rows"]
            if message.get("end"):
                lost.cells.extend((row, column) for row, column in message["lost"])
                lost.count = message["lost_count"]
                ended = True
        if not ended:
            # The child failed: a damaged file, or one that needs more memory to read
            # than the reader may have (calamine aborts when an allocation fails).
            code = child.wait()
            if code < 0 and not watchdog.is_alive():
                raise ValidationFailed(
                    N_("The XLSX file took too long to read."),
                    errors=[FieldError(field="file", message=N_("took too long to read"))],
                )
            if code < 0 or message.get("error") == "memory":
                raise PayloadTooLarge(
                    N_(
                        "The workbook needs more memory to read than an upload may use; "
                        "delete empty rows and columns beyond the data and save it again."
                    ),
                    errors=[FieldError(field="file", message=N_("too large to read"))],
                    extra={
                        "limit": "upload_reader_memory_bytes",
                        "max": limits.reader_memory_bytes,
                    },
                )
            raise _unreadable()
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.wait()


# ---- both -------------------------------------------------------------------------

# Excel keeps numbers as doubles: from 16 digits on, the last ones are lost (an ICCID typed
# as a number, 8984048000077777777, comes back as ...77920). Such cells are refused.
LOST_DIGITS = N_(
    "a number of 16 or more digits loses its last digits in Excel; "
    "format the column as Text and type it again"
)


async def parse_table(
    data: bytes,
    filename: str | None,
    aliases: Mapping[str, str],
    required: set[str],
    limits: UploadLimits,
) -> Table:
    """`read_table` in a worker thread: never on the event loop."""
    return await off_loop(read_table, data, filename, aliases, required, limits)


def read_table(
    data: bytes,
    filename: str | None,
    aliases: Mapping[str, str],
    required: set[str],
    limits: UploadLimits,
) -> Table:
    """Parse a CSV or XLSX upload (blocking: see `parse_table`). `aliases` maps header text
    (English or Vietnamese; matched folded, common/words.py) to the canonical column name;
    unknown columns are refused."""
    if data[:4] == XLSX_MAGIC or (filename or "").lower().endswith(".xlsx"):
        lost = Lost([])
        first_row: list[int] = []
        with closing(_xlsx_rows(data, limits, lost, first_row)) as raw:
            return _table(raw, first_row, aliases, required, limits, lost)
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            with closing(_csv_rows(data, encoding, limits)) as raw:
                return _table(
                    raw,
                    [1],
                    aliases,
                    required,
                    limits,
                    Lost([]),
                    nul=b"\x00" in data,
                    delimited=True,
                )
        except UnicodeDecodeError:
            continue
    raise ValidationFailed(
        N_("The file is not UTF-8 text."),
        errors=[FieldError(field="file", message=N_("not UTF-8"))],
    )


def _table(
    raw: Iterator[list[str]],
    first_row: list[int],
    aliases: Mapping[str, str],
    required: set[str],
    limits: UploadLimits,
    lost: Lost,
    *,
    nul: bool = False,
    delimited: bool = False,
) -> Table:
    """`nul`: the file holds a NUL byte somewhere (no text may: PostgreSQL refuses it),
    so each row is looked at for one. `delimited`: the rows were split at delimiters (CSV),
    so a row longer than its header was shifted by one inside a value (a sheet's cells
    cannot be)."""
    number = 0  # the row being read is number + 1
    errors: list[FieldError] = []
    try:
        header = next(raw, None)
        number = first_row[0] if first_row else 1
        columns = _header(header, number, aliases, required, limits)
        # Excel pads every CSV row, the header too, to the sheet's width: only a row longer
        # than its header row was shifted.
        shifted_past = len(header or []) if delimited else None
        rows: Rows[str] = Rows()
        width = len(columns)
        plain = all(columns)  # no blank header cells: a row maps onto the columns one to one
        indexed = [(i, col) for i, col in enumerate(columns) if col]
        max_chars = limits.max_cell_chars
        header_row = number
        last_row = header_row + limits.max_rows
        for number, values in enumerate(raw, start=header_row + 1):
            if number > last_row:
                raise too_many_rows(limits)
            cells = [v.strip() for v in values]  # already NFC: see _text_lines, xlsx_child
            if not any(cells):
                continue
            if nul and any("\x00" in c for c in cells):
                errors += [
                    FieldError(row=number, field=col, message=NUL_IN_CELL)
                    for i, col in indexed
                    if i < len(cells) and "\x00" in cells[i]
                ]
                continue
            if max(map(len, cells)) > max_chars:
                errors += [
                    _too_long(limits, number, col)
                    for i, col in indexed
                    if i < len(cells) and len(cells[i]) > max_chars
                ]
                continue
            if shifted_past is not None and len(cells) > shifted_past and any(cells[width:]):
                # More cells than the header row has, filled past its last named column:
                # a comma inside an unquoted value shifted the row, and its last cells
                # would be lost.
                filled = len(cells) - next(i for i, c in enumerate(reversed(cells)) if c)
                errors.append(
                    FieldError(
                        row=number,
                        message=Message(
                            N_("{n:,} cells, but the header names {width:,} columns"),
                            n=filled,
                            width=width,
                        ),
                    )
                )
                continue
            if plain and len(cells) == width:
                rows.append(number, dict(zip(columns, cells, strict=True)))
            else:
                rows.append(number, {col: cells[i] if i < len(cells) else "" for i, col in indexed})
    except csv.Error as exc:
        # The csv module's field limit (131,072 characters by default) or a quote left
        # open until the end of the file: an error of that row, not of the server.
        text = str(exc)
        message = (
            Message(N_("a cell is longer than {max:,} characters"), max=limits.max_cell_chars)
            if "field larger than field limit" in text
            else N_("not valid CSV here (a quote left open, or text after it)")
        )
        raise ValidationFailed(
            N_("The file could not be read to the end; nothing was imported."),
            errors=[*errors, FieldError(row=number + 1, message=message)],
        ) from None
    if errors:
        raise ValidationFailed(
            ROWS_WRONG,
            errors=errors,
            extra=(
                {"limit": "upload_max_cell_chars", "max": max_chars}
                if any(e.message != NUL_IN_CELL for e in errors)
                else None
            ),
            n=len({e.row for e in errors}),
        )
    lossy = [
        FieldError(row=row, field=columns[index], message=LOST_DIGITS)
        for row, index in lost.cells
        if index < len(columns) and columns[index]
    ]
    if lossy:
        # Past the first MAX_LISTED_ERRORS the child only counted the cells (blank
        # columns included); those are counted as not listed.
        not_listed = max(0, lost.count - len(lost.cells))
        raise ValidationFailed(
            N_plural(
                "{n} cell holds a number too long for Excel; nothing was imported.",
                "{n} cells hold numbers too long for Excel; nothing was imported.",
            ),
            errors=lossy,
            not_listed=not_listed,
            n=len(lossy) + not_listed,
        )
    return Table(columns=[c for c in columns if c], rows=rows)


NUL_IN_CELL = N_(
    "holds a NUL character, which no text has: is the file a spreadsheet saved under a "
    ".csv name? Save it as CSV UTF-8, or upload the .xlsx"
)


def _header(
    header: list[str] | None,
    number: int,
    aliases: Mapping[str, str],
    required: set[str],
    limits: UploadLimits,
) -> list[str]:
    """The canonical column of each header cell ("" for a blank one); unknown or missing
    columns refuse the file."""
    # Excel pads CSV rows with empty cells to the sheet's width: those after the last
    # named column are dropped (found in one pass; cutting one at a time was quadratic,
    # 114 s for 100,000 trailing commas).
    cells = header or []
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    if not end:
        raise ValidationFailed(
            N_("The file has no header row."),
            errors=[FieldError(row=1, message=N_("header row missing"))],
        )
    if end > limits.max_columns:
        raise _too_many_columns(limits)
    header = cells[:end]
    if any(len(h) > limits.max_cell_chars for h in header):
        raise ValidationFailed(
            N_("The header row is not right."), errors=[_too_long(limits, number)]
        )
    columns: list[str] = []
    errors: list[FieldError] = []
    # Headers match with or without diacritics, in any case ("Mẫu máy", "mau may").
    known = folded_map(aliases)
    for name in header:
        key = _norm_header(name)
        if not key:
            columns.append("")
            continue
        canonical = aliases.get(key) or known.get(fold(name))
        if canonical is None:
            errors.append(FieldError(row=number, field=name.strip(), message=N_("unknown column")))
        elif canonical in columns:
            # Two columns for one field ("kind" and "Loại"): which to read is a guess.
            errors.append(
                FieldError(row=number, field=name.strip(), message=N_("column given twice"))
            )
        columns.append(canonical or key)
    missing = required - set(columns)
    errors += [
        FieldError(row=number, field=c, message=N_("required column missing"))
        for c in sorted(missing)
    ]
    if errors:
        raise ValidationFailed(N_("The header row is not right."), errors=errors)
    return columns


def clean_cell(value: str) -> str:
    """A cell as stored: trimmed, and NFC (Vietnamese text may arrive decomposed, NFD, from
    some spreadsheets)."""
    value = value.strip()
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def parse_int(value: str) -> int:
    text = value.replace(" ", "").replace("\u00a0", "")
    if not text.lstrip("-").isdigit():
        raise ValueError(N_("must be a whole number"))
    return int(text)


def parse_bool(value: str, default: bool) -> bool:
    if not value:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "y", "x", "có", "co"}:
        return True
    if lowered in {"0", "false", "no", "n", "không", "khong"}:
        return False
    raise ValueError(N_("must be true or false"))


def xlsx_safe(text: str) -> str:
    """XLSX cannot hold most control characters; drop them rather than fail the export."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("", text))

"""Reading uploaded CSV and XLSX tables into rows of strings keyed by canonical column.

Row numbers are the spreadsheet's own (the header is row 1), so an error message points
at the row a person sees when opening the file.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from devicetrack.errors import FieldError, ValidationFailed

XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


def _norm_header(name: str) -> str:
    folded = unicodedata.normalize("NFC", name).strip().lower()
    return folded.replace(" ", "_").replace("-", "_")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed(
        "The file is not UTF-8 text.", errors=[FieldError(field="file", message="not UTF-8")]
    )


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    # Vietnamese text may arrive decomposed (NFD) from some spreadsheets; cells are stored
    # NFC. One pass over the whole text is far cheaper than one per cell.
    text = unicodedata.normalize("NFC", _decode(data))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


# Excel keeps numbers as doubles: from 16 digits on, the last ones are lost (an ICCID typed
# as a number, 8984048000077777777, comes back as ...77920). Such cells are refused.
LOSSY_NUMBER = 1e15
LOST_DIGITS = (
    "a number of 16 or more digits loses its last digits in Excel; "
    "format the column as Text and type it again"
)


def _xlsx_rows(data: bytes, lost: list[tuple[int, int]]) -> Iterator[list[str]]:
    """The sheet's rows as text; (row, column index) of every lossy number go to `lost`."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ValidationFailed(
            "The XLSX file could not be read.",
            errors=[FieldError(field="file", message="not a readable XLSX workbook")],
        ) from exc
    sheet = book.worksheets[0]
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        for index, value in enumerate(values):
            if isinstance(value, int | float) and abs(value) >= LOSSY_NUMBER:
                lost.append((number, index))
        yield [_cell_text(v) for v in values]
    book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    text = str(value)
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def read_table(
    data: bytes, filename: str | None, aliases: Mapping[str, str], required: set[str]
) -> Table:
    """Parse a CSV or XLSX upload. `aliases` maps normalised header text (English or
    Vietnamese) to the canonical column name; unknown columns are refused."""
    is_xlsx = data[:4] == XLSX_MAGIC or (filename or "").lower().endswith(".xlsx")
    lost: list[tuple[int, int]] = []
    raw = _xlsx_rows(data, lost) if is_xlsx else _csv_rows(data)
    header = next(raw, None)
    if not header or not any(h.strip() for h in header):
        raise ValidationFailed(
            "The file has no header row.", errors=[FieldError(row=1, message="header row missing")]
        )
    columns: list[str] = []
    errors: list[FieldError] = []
    for name in header:
        key = _norm_header(name)
        if not key:
            columns.append("")
            continue
        canonical = aliases.get(key)
        if canonical is None:
            errors.append(FieldError(row=1, field=name, message="unknown column"))
        columns.append(canonical or key)
    missing = required - set(columns)
    errors += [
        FieldError(row=1, field=c, message="required column missing") for c in sorted(missing)
    ]
    if errors:
        raise ValidationFailed("The header row is not right.", errors=errors)
    rows: list[tuple[int, dict[str, str]]] = []
    width = len(columns)
    plain = all(columns)  # no blank header cells: a row maps onto the columns one to one
    indexed = [(i, col) for i, col in enumerate(columns) if col]
    for number, values in enumerate(raw, start=2):
        cells = [v.strip() for v in values]  # already NFC: see _csv_rows, _cell_text
        if not any(cells):
            continue
        if plain and len(cells) == width:
            rows.append((number, dict(zip(columns, cells, strict=True))))
        else:
            rows.append((number, {col: cells[i] if i < len(cells) else "" for i, col in indexed}))
    lossy = [
        FieldError(row=row, field=columns[index], message=LOST_DIGITS)
        for row, index in lost
        if row > 1 and index < len(columns) and columns[index]
    ]
    if lossy:
        raise ValidationFailed(
            f"{len(lossy)} cell(s) hold numbers too long for Excel; nothing was imported.",
            errors=lossy,
        )
    return Table(columns=[c for c in columns if c], rows=rows)


def clean_cell(value: str) -> str:
    """A cell as stored: trimmed, and NFC (Vietnamese text may arrive decomposed, NFD, from
    some spreadsheets)."""
    value = value.strip()
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def parse_int(value: str) -> int:
    text = value.replace(" ", "").replace("\u00a0", "")
    if not text.lstrip("-").isdigit():
        raise ValueError("must be a whole number")
    return int(text)


def parse_bool(value: str, default: bool) -> bool:
    if not value:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "y", "x", "có", "co"}:
        return True
    if lowered in {"0", "false", "no", "n", "không", "khong"}:
        return False
    raise ValueError("must be true or false")


def xlsx_safe(text: str) -> str:
    """XLSX cannot hold most control characters; drop them rather than fail the export."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("", text))

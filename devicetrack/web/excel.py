"""Any table a page shows, as an Excel workbook: a header row in the reader's language and
the same rows, written by common/spreadsheet.py (formulas neutralised, off the event loop,
one of the process's few heavy slots)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.response import Stream

from devicetrack.common import spreadsheet
from devicetrack.common.clock import VIETNAM
from devicetrack.common.heavy import heavy_work
from devicetrack.devices.export import PEOPLE_COLUMNS
from devicetrack.web.i18n import Translator

XLSX = spreadsheet.XLSX


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return local_time(value)
    return value


def local_time(value: datetime) -> datetime:
    """Excel has no time zones: a time is written as the reader's clock shows it."""
    return value.astimezone(VIETNAM).replace(tzinfo=None) if value.tzinfo else value


# Device columns that hold a stored code, shown as the reader's word.
CODED_COLUMNS = frozenset({"kind", "status", "condition", "carrier"})


@dataclass(frozen=True)
class DeviceRow:
    """How a device export shows a row to a person: codes as words, local times. A class,
    not a closure: it travels to the worker process that writes the workbook."""

    t: Translator

    def __call__(self, values: Sequence[Any]) -> list[Any]:
        return [self.show(c, v) for c, v in zip(PEOPLE_COLUMNS, values, strict=True)]

    def show(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        if column in CODED_COLUMNS:
            return self.t.word(value)
        if isinstance(value, datetime):
            return local_time(value)
        return value


async def table_xlsx(
    request: Request[Any, Any, Any],
    filename: str,
    title: str,
    header: Sequence[str | spreadsheet.Column],
    rows: Iterable[Sequence[Any]],
) -> Stream:
    """`header` names the columns; a Column gives one a number format too (days)."""
    columns = [h if isinstance(h, spreadsheet.Column) else spreadsheet.Column(h) for h in header]
    cells = ([_cell(v) for v in row] for row in rows)
    handle = await spreadsheet.xlsx_file(heavy_work(request), title, columns, cells)
    return spreadsheet.download(handle, filename, XLSX)

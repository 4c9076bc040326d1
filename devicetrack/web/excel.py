"""Any table a page shows, as an Excel workbook: a header row in the reader's language and
the same rows. Text is cleaned of characters a worksheet cannot hold."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from litestar import Response
from openpyxl import Workbook

from devicetrack.common.clock import VIETNAM
from devicetrack.common.tabular import xlsx_safe
from devicetrack.web.i18n import Translator

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return xlsx_safe(value)
    if isinstance(value, datetime):
        return local_time(value)
    return value


def local_time(value: datetime) -> datetime:
    """Excel has no time zones: a time is written as the reader's clock shows it."""
    return value.astimezone(VIETNAM).replace(tzinfo=None) if value.tzinfo else value


# Device columns that hold a stored code, shown as the reader's word.
CODED_COLUMNS = frozenset({"kind", "status", "condition", "carrier"})


def device_presenter(t: Translator) -> Callable[[str, Any], Any]:
    """How a device export shows its values to a person: codes as words, local times."""

    def present(column: str, value: Any) -> Any:
        if value is None:
            return None
        if column in CODED_COLUMNS:
            return t.word(value)
        if isinstance(value, datetime):
            return local_time(value)
        return value

    return present


def table_xlsx(
    filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Response[bytes]:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(xlsx_safe(title)[:31] or "Sheet")
    sheet.append(list(header))
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

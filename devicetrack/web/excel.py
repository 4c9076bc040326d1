"""Any table a page shows, as an Excel workbook: a header row in the reader's language and
the same rows. Text is cleaned of characters a worksheet cannot hold."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from litestar import Response
from openpyxl import Workbook

from devicetrack.reports.export import xlsx_safe

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return xlsx_safe(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones; values are UTC
    return value


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

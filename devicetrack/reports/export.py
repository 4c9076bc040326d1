"""Coverage reports as CSV (UTF-8 with a BOM, so Excel shows Vietnamese right) and XLSX
(header row, frozen panes, number formats)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, tzinfo

from devicetrack.common.tabular import xlsx_safe
from devicetrack.reports.schemas import CoverageReport, CoverageRow

KEYS = {
    "school": [
        "province_code",
        "commune_code",
        "commune_name",
        "school_id",
        "school_code",
        "school_name",
    ],
    "commune": ["province_code", "province_name", "commune_code", "commune_name", "schools"],
    "province": ["province_code", "province_name", "schools"],
    "nation": ["schools"],
}
FIGURES = [
    "enrolled",
    "priority_enrolled",
    "devices_held",
    "devices_working",
    "students_with_device",
    "coverage_pct",
    "devices_per_100",
    "priority_with_device",
    "priority_coverage_pct",
    "students_connected",
    "gap",
    "last_audit_at",
    "overdue_audit",
]
PERCENTS = {"coverage_pct", "devices_per_100", "priority_coverage_pct"}


def columns(level: str) -> list[str]:
    return KEYS[level] + FIGURES


def _value(row: CoverageRow, name: str) -> object:
    value = getattr(row, name)
    if name == "last_audit_at" and value is not None:
        return value.isoformat()
    return value


def coverage_csv(report: CoverageReport) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    cols = columns(report.level)
    writer.writerow(cols)
    yield ("\ufeff" + buffer.getvalue()).encode()
    for start in range(0, len(report.items), 500):
        buffer.seek(0)
        buffer.truncate()
        for row in report.items[start : start + 500]:
            writer.writerow(["" if (v := _value(row, c)) is None else v for c in cols])
        yield buffer.getvalue().encode()


def coverage_xlsx(
    report: CoverageReport,
    heading: Callable[[str], str] | None = None,
    local_time: tzinfo = UTC,
) -> bytes:
    """The report as a workbook. `heading` names the columns for a person (the API's export
    keeps the field names); audit times are written in `local_time` (Excel has no zones)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = f"coverage-{report.level}"
    cols = columns(report.level)
    headers = [heading(c) if heading else c for c in cols]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in report.items:
        values = []
        for c in cols:
            v = getattr(row, c)
            if c == "last_audit_at" and v:
                v = v.astimezone(local_time).replace(tzinfo=None)
            elif isinstance(v, str):
                v = xlsx_safe(v)
            values.append(v)
        sheet.append(values)
    for index, (name, header) in enumerate(zip(cols, headers, strict=True), start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, len(header) + 2)
        fmt = (
            "0.0"
            if name in PERCENTS
            else "yyyy-mm-dd hh:mm"
            if name == "last_audit_at"
            else ("#,##0" if name in FIGURES else None)
        )
        if fmt:
            for cell in sheet[letter][1:]:
                cell.number_format = fmt
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

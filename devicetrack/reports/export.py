"""Coverage reports as CSV (UTF-8 with a BOM, so Excel shows Vietnamese right) and XLSX
(header row, frozen panes, number formats)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, tzinfo
from typing import IO

from devicetrack.common import spreadsheet
from devicetrack.common.heavy import HeavyWork
from devicetrack.reports.schemas import CoverageReport

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
    "devices_incoming",
    "students_with_device",
    "coverage_pct",
    "devices_per_100",
    "priority_with_device",
    "priority_coverage_pct",
    "students_connected",
    "gap",
    "gap_after_incoming",
    "last_audit_at",
    "overdue_audit",
]
PERCENTS = {"coverage_pct", "devices_per_100", "priority_coverage_pct"}
# The database's own number for a school: kept in the API's export, left out of a person's,
# who knows a school by its code and name (both were headed "School").
INTERNAL = {"school_id"}


def columns(level: str, for_people: bool = False) -> list[str]:
    return [c for c in KEYS[level] + FIGURES if not (for_people and c in INTERNAL)]


def coverage_csv(report: CoverageReport) -> bytes:
    cols = columns(report.level)
    rows = ([getattr(row, c) for c in cols] for row in report.items)
    return spreadsheet.csv_bytes(cols, rows)


def _format(name: str) -> str | None:
    if name in PERCENTS:
        return "0.0"
    if name == "last_audit_at":
        return "yyyy-mm-dd hh:mm"
    return "#,##0" if name in FIGURES else None


async def coverage_xlsx(
    heavy: HeavyWork,
    report: CoverageReport,
    heading: Callable[[str], str] | None = None,
    local_time: tzinfo = UTC,
) -> IO[bytes]:
    """The report as a workbook (written by a worker process). `heading` names the columns
    for a person (the API's export keeps the field names); audit times are written in
    `local_time` (Excel has no zones)."""
    cols = columns(report.level, for_people=heading is not None)
    headers = [heading(c) if heading else c for c in cols]
    sheet_columns = [
        spreadsheet.Column(header, _format(name), max(10, len(header) + 2))
        for name, header in zip(cols, headers, strict=True)
    ]

    def rows() -> Iterator[list[object]]:
        for row in report.items:
            values: list[object] = []
            for c in cols:
                v = getattr(row, c)
                if c == "last_audit_at" and v:
                    v = v.astimezone(local_time).replace(tzinfo=None)
                values.append(v)
            yield values

    return await spreadsheet.xlsx_file(heavy, f"coverage-{report.level}", sheet_columns, rows())

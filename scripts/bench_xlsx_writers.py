"""XLSX writers on the device export's shape: openpyxl write-only, XlsxWriter constant
memory and rustpy-xlsxwriter (Rust's rust_xlsxwriter), in one run.

    uv run python scripts/bench_xlsx_writers.py [--rows 100000] [--repeat 1]

Each writer runs in its own child process (so one's memory does not count against the
next) and writes the same generated rows — 12 columns: nine text, an integer, a date and a
time, some text starting with = + - @ — to a temporary file from a worker thread, as the
service does. Meanwhile the child's event loop ticks every 10 ms: the worst lateness of a
tick is how long the writer keeps an event loop from running (the GIL it holds). Printed:
seconds, rows/s, the child's peak RSS above its level before writing, and that lateness.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

COLUMNS = [
    "asset_tag",
    "kind",
    "make",
    "model",
    "serial",
    "status",
    "condition",
    "province_code",
    "donation_id",
    "received_at",
    "warranty_until",
    "note",
]
KINDS = ["laptop", "tablet", "smartphone", "sim"]
NOTES = ["", '=HYPERLINK("http://x")', "Trả lại sau hè", "-3 phím hỏng", "@sum(A1)"]


def rows(n: int) -> Iterator[list[Any]]:
    start = datetime(2025, 7, 14, 8, 30, tzinfo=UTC).replace(tzinfo=None)
    for i in range(n):
        yield [
            f"DT11-{i:06d}-{i % 10}",
            KINDS[i % 4],
            "Samsung" if i % 3 else "Dell",
            f"Galaxy Tab A{i % 9}",
            f"R9XT{i:08d}",
            "at_school",
            "good",
            "11",
            1 + i // 1000,
            start + timedelta(minutes=i),
            date(2027, 1, 1) + timedelta(days=i % 365),
            NOTES[i % len(NOTES)],
        ]


def safe(value: Any) -> Any:
    # The service's own rule (devicetrack.common.spreadsheet): text that a spreadsheet
    # would run as a formula gets a leading apostrophe.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r", "\n"):
        return "'" + value
    return value


def write_openpyxl(path: str, n: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("devices")
    sheet.append(COLUMNS)
    for row in rows(n):
        sheet.append([safe(v) for v in row])
    book.save(path)


def write_xlsxwriter(path: str, n: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(
        path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    )
    sheet = book.add_worksheet("devices")
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, COLUMNS, bold)
    for r, row in enumerate(rows(n), start=1):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, when)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, value, day)
            else:
                sheet.write(r, c, safe(value))
    book.close()


def write_rustpy(path: str, n: int) -> None:
    from rustpy_xlsxwriter import Format, write_worksheet

    records = (dict(zip(COLUMNS, [safe(v) for v in row], strict=True)) for row in rows(n))
    write_worksheet(
        records,
        path,
        sheet_name="devices",
        bold_headers=True,
        freeze_row=1,
        column_formats={
            "received_at": Format().set_num_format("yyyy-mm-dd hh:mm"),
            "warranty_until": Format().set_num_format("yyyy-mm-dd"),
        },
    )


WRITERS: dict[str, Callable[[str, int], None]] = {
    "openpyxl write_only": write_openpyxl,
    "XlsxWriter constant_memory": write_xlsxwriter,
    "rustpy-xlsxwriter": write_rustpy,
}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def measure(name: str, n: int) -> dict[str, Any]:
    writer = WRITERS[name]
    before = rss_mb()
    worst = 0.0
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as out:
        task = asyncio.create_task(asyncio.to_thread(writer, out.name, n))
        started = time.perf_counter()
        while not task.done():
            tick = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - tick - 0.01)
        await task
        seconds = time.perf_counter() - started
        size = out.seek(0, 2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "writer": name,
        "seconds": seconds,
        "rows_per_s": n / seconds,
        "peak_rss_above_start_mb": peak - before,
        "worst_loop_stall_ms": worst * 1000,
        "file_mb": size / 1e6,
    }


def child(name: str, n: int) -> None:
    # Import the writer before the baseline, so the module's own size is not counted.
    __import__(
        {
            "openpyxl write_only": "openpyxl",
            "XlsxWriter constant_memory": "xlsxwriter",
            "rustpy-xlsxwriter": "rustpy_xlsxwriter",
        }[name]
    )
    print(json.dumps(asyncio.run(measure(name, n))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    print(f"{args.rows:,} rows x {len(COLUMNS)} columns, written from a worker thread")
    print(f"{'writer':<28}{'s':>8}{'rows/s':>10}{'peak MB':>9}{'stall ms':>10}{'file MB':>9}")
    for _ in range(args.repeat):
        for name in WRITERS:
            out = subprocess.run(
                [sys.executable, __file__, "--rows", str(args.rows), "--child", name],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{r['writer']:<28}{r['seconds']:>8.2f}{r['rows_per_s']:>10,.0f}"
                f"{r['peak_rss_above_start_mb']:>9.1f}{r['worst_loop_stall_ms']:>10.1f}"
                f"{r['file_mb']:>9.2f}"
            )


if __name__ == "__main__":
    main()

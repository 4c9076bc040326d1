"""The device export's two XLSX writers on the same rows, in this process (unniced):
rustpy-xlsxwriter fed row by row from Python (spreadsheet.write_xlsx_query, as the pages'
export writes) and the worksheet written by PostgreSQL (spreadsheet.write_xlsx_copy, the
API's export).

    DATABASE_URL=postgresql://…/db uv run python scripts/bench_xlsx_export.py [--donation N]

Reads the devices of one donation (by default the one with the most devices; the
event-loop benchmark, scripts/bench_event_loop.py, uploads 100,000). Prints, per writer and
run, seconds, rows/s, this process's CPU seconds and the file's size, then checks that
python-calamine reads the same cells from both files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import asyncpg
from _common import ROOT  # type: ignore[import-not-found]  # noqa: F401  (puts the repo on sys.path)
from python_calamine import CalamineWorkbook
from sqlalchemy.ext.asyncio import create_async_engine

from devicetrack.common import spreadsheet
from devicetrack.db.engine import async_url
from devicetrack.devices import export
from devicetrack.devices import repository as repo
from devicetrack.tables import Device
from tests.database import asyncpg_dsn


async def _largest_donation(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        row = await conn.fetchrow(
            "SELECT donation_id, count(*) FROM devices WHERE donation_id IS NOT NULL"
            " GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        )
        assert row is not None, "no donated devices: run scripts/bench_event_loop.py first"
        return int(row[0]), int(row[1])
    finally:
        await conn.close()


async def _query(url: str, donation: int) -> spreadsheet.SheetQuery:
    engine = create_async_engine(async_url(url))
    try:
        statement = repo.export_query(
            [Device.donation_id == donation], export.COLUMNS, Device.__table__.c.note
        )
        return spreadsheet.SheetQuery.of(engine, statement, 0)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--donation", type=int)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL")
    donation, rows = asyncio.run(_largest_donation(url))
    donation = args.donation or donation
    query = asyncio.run(_query(url, donation))
    columns = [
        spreadsheet.Column(name, spreadsheet.DAY if name in export.DATES else None)
        for name in export.COLUMNS
    ]
    print(f"donation {donation}: {rows:,} devices; load average {os.getloadavg()[0]:.1f}")
    print(f"{'writer':<34}{'s':>7}{'rows/s':>9}{'CPU s':>7}{'MB':>6}")
    with tempfile.TemporaryDirectory() as directory:
        paths = {"rustpy-xlsxwriter fed from Python": Path(directory) / "rustpy.xlsx"}
        paths["PostgreSQL-written worksheet"] = Path(directory) / "copy.xlsx"
        for _ in range(args.repeat):
            for name, path in paths.items():
                started, cpu = time.perf_counter(), time.process_time()
                if path.name == "rustpy.xlsx":
                    spreadsheet.write_xlsx_query(str(path), "devices", columns, query.rows)
                else:
                    spreadsheet.write_xlsx_copy(str(path), "devices", columns, query)
                seconds = time.perf_counter() - started
                print(
                    f"{name:<34}{seconds:>7.2f}{rows / seconds:>9,.0f}"
                    f"{time.process_time() - cpu:>7.2f}{path.stat().st_size / 1e6:>6.1f}"
                )
        sheets = [
            CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).to_python()
            for p in paths.values()
        ]
        print("same cells:", sheets[0] == sheets[1])


if __name__ == "__main__":
    main()

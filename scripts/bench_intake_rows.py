"""The Python half of bulk intake alone: reading and checking 100,000 rows (no database).

    uv run python scripts/bench_intake_rows.py [--devices 100000] [--runs 5]

Parses the same CSV as scripts/bench_intake.py with the upload reader, then times
`devices.intake_rows.check_new_rows` over its rows (words read, each row converted into the
API's DeviceIntake Struct, the domain's checks), best and median of a few runs. The HTTP
benchmark's figure includes this and everything the database does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_intake import make_rows, to_csv  # type: ignore[import-not-found]

from devicetrack.common.tabular import UploadLimits, read_table
from devicetrack.devices import intake_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = to_csv(make_rows(args.devices))
    start = time.perf_counter()
    table = read_table(data, "devices.csv", intake_rows.ALIASES, {"kind"}, UploadLimits())
    parsed = time.perf_counter() - start
    rows = table.rows
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        checked = intake_rows.check_new_rows(rows, "11")
        times.append(time.perf_counter() - start)
        assert not checked.errors and len(checked.numbers) == args.devices
    print(f"rows: {args.devices:,}; parsing the CSV: {parsed:.2f} s")
    print(
        f"checking the rows: best {min(times):.3f} s, median {statistics.median(times):.3f} s"
        f" ({args.devices / min(times):,.0f} rows/s)"
    )


if __name__ == "__main__":
    main()

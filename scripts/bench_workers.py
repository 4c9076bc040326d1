"""More processes: `devicetrack serve --workers N` at N = 1 and 2, on the device lookup and
on a mix of pages and API reads, against the same seeded database in one run.

    DATABASE_URL=postgresql://…/scale uv run python scripts/bench_workers.py [--seconds 10]

Each N gets its own server (uvicorn's worker processes share one listening socket), all
started at once and measured in alternation (the box's other work drifts; alternating
spreads it evenly), each run --seconds long, --rounds times. The same load generator as
scripts/bench_lookup.py (wrk when installed, else httpx) drives the lookup of random tags
at each --connections, then the mix at the first. The mix, by weight:
a device looked up (API) 4, a device's page 2, a school's page 2, a school's devices (API,
filtered) 2, a province's dashboard 1, its school-level coverage report 1, its audit-due
report 1 — the reads a day of school and province work is made of. Prints each N's median
run (by requests/s) with its p50/p99, its best, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil

import asyncpg
from _common import admin_token, bench_database, running_server  # type: ignore[import-not-found]
from bench_lookup import run_load, sample_tags  # type: ignore[import-not-found]

from tests.database import asyncpg_dsn


async def mix_paths(url: str, tags: list[str]) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT s.id, s.province_code FROM schools s"
            " WHERE EXISTS (SELECT 1 FROM devices d WHERE d.school_id = s.id)"
            " ORDER BY s.id LIMIT 50"
        )
    finally:
        await conn.close()
    paths: list[str] = []
    for i, row in enumerate(rows):
        school, province = row["id"], row["province_code"]
        tag_a, tag_b = tags[(2 * i) % len(tags)], tags[(2 * i + 1) % len(tags)]
        paths += [f"/api/v1/devices/{t}" for t in tags[4 * i : 4 * i + 4]]
        paths += [f"/devices/{tag_a}", f"/devices/{tag_b}"]
        paths += [f"/schools/{school}"] * 2
        paths += [f"/api/v1/devices?school={school}&status=at_school&limit=50"] * 2
        paths += [
            f"/province?province={province}",
            f"/api/v1/reports/coverage?level=school&province={province}",
            f"/api/v1/reports/audit-due?province={province}",
        ]
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[tuple[int, str], list[tuple[float, float, float, int]]] = {}
    with bench_database(os.environ.get("DATABASE_URL")) as url:
        tags = asyncio.run(sample_tags(url))
        if not tags:
            raise SystemExit("no devices: seed the database first (scripts/seed_scale.py)")
        token = asyncio.run(admin_token(url))
        # The API reads the bearer token, the pages their session cookie (the same token).
        headers = {"Authorization": f"Bearer {token}", "Cookie": f"dt_session={token}"}
        lookups = [f"/api/v1/devices/{t}" for t in tags]
        mix = asyncio.run(mix_paths(url, tags))
        with contextlib.ExitStack() as stack:
            # Every N's server at once, idle while another is measured, and the runs
            # alternated: the box's other work drifts, and alternating spreads it evenly.
            bases = {
                n: stack.enter_context(running_server(url, workers=n))[0] for n in args.workers
            }
            for base in bases.values():
                run_load(base, mix, headers, 3, args.connections[0])  # warm every process
            loads = [(f"lookup, {c} connections", lookups, c) for c in args.connections]
            loads.append((f"page mix, {args.connections[0]} connections", mix, args.connections[0]))
            for _ in range(args.rounds):
                for name, paths, c in loads:
                    for n, base in bases.items():
                        runs.setdefault((n, name), []).append(
                            run_load(base, paths, headers, args.seconds, c)
                        )
    tool = "wrk" if shutil.which("wrk") else "httpx"
    print(
        f"{tool}, {args.seconds:.0f} s per run, {args.rounds} runs each (alternated), "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, {len(tags)} tags"
    )
    print(
        f"{'load':<28} {'N':>2} {'req/s (median, best)':>22}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    names = list(dict.fromkeys(name for _, name in runs))
    for name in names:
        medians = {}
        for n in args.workers:
            done = sorted(runs[(n, name)])
            rps, p50, p99, _ = done[len(done) // 2]
            medians[n] = rps
            errors = sum(r[3] for r in done)
            rate = f"{rps:8.0f} ({done[-1][0]:6.0f})"
            print(f"{name:<28} {n:>2} {rate:>22} {p50:8.1f} {p99:8.1f} {errors:7d}")
        if len(args.workers) > 1:
            first, last = args.workers[0], args.workers[-1]
            print(f"{'':<28} N={last}/N={first} (medians): {medians[last] / medians[first]:.2f}x")


if __name__ == "__main__":
    main()

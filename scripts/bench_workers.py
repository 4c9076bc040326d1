"""More processes: `devicetrack serve --workers N` at N = 1 and 2, on the device lookup and
on a mix of pages and API reads, against the same seeded database in one run.

    DATABASE_URL=postgresql://…/scale uv run python scripts/bench_workers.py [--seconds 10]

Each N gets its own server (uvicorn's worker processes share one listening socket); the
same load generator as scripts/bench_lookup.py (wrk when installed, else httpx) drives the
lookup of random tags at each --connections, then the mix at the first. The mix, by weight:
a device looked up (API) 4, a device's page 2, a school's page 2, a school's devices (API,
filtered) 2, a province's dashboard 1, its school-level coverage report 1, its audit-due
report 1 — the reads a day of school and province work is made of. Prints requests/s and
p50/p99 per N and the ratio of N = 2 to N = 1.
"""

from __future__ import annotations

import argparse
import asyncio
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
    args = parser.parse_args()
    results: dict[tuple[int, str], tuple[float, float, float, int]] = {}
    with bench_database(os.environ.get("DATABASE_URL")) as url:
        tags = asyncio.run(sample_tags(url))
        if not tags:
            raise SystemExit("no devices: seed the database first (scripts/seed_scale.py)")
        token = asyncio.run(admin_token(url))
        # The API reads the bearer token, the pages their session cookie (the same token).
        headers = {"Authorization": f"Bearer {token}", "Cookie": f"dt_session={token}"}
        lookups = [f"/api/v1/devices/{t}" for t in tags]
        mix = asyncio.run(mix_paths(url, tags))
        for n in args.workers:
            with running_server(url, workers=n) as (base, _):
                run_load(base, mix, headers, 3, args.connections[0])  # warm every process
                for c in args.connections:
                    results[(n, f"lookup, {c} connections")] = run_load(
                        base, lookups, headers, args.seconds, c
                    )
                label = f"page mix, {args.connections[0]} connections"
                results[(n, label)] = run_load(
                    base, mix, headers, args.seconds, args.connections[0]
                )
    tool = "wrk" if shutil.which("wrk") else "httpx"
    print(f"{tool}, {args.seconds:.0f} s per row, {os.cpu_count()} CPUs, {len(tags)} tags")
    print(f"{'load':<28} {'N':>2} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    loads = list(dict.fromkeys(name for _, name in results))
    for name in loads:
        for n in args.workers:
            rps, p50, p99, errors = results[(n, name)]
            print(f"{name:<28} {n:>2} {rps:8.0f} {p50:8.1f} {p99:8.1f} {errors:7d}")
        if len(args.workers) > 1:
            first, last = results[(args.workers[0], name)], results[(args.workers[-1], name)]
            print(f"{'':<28} N={args.workers[-1]}/N={args.workers[0]}: {last[0] / first[0]:.2f}x")


if __name__ == "__main__":
    main()

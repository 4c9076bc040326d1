"""Coverage report benchmark against the scale data (scripts/seed_scale.py).

    DATABASE_URL=postgresql://…/scale uv run python scripts/bench_reports.py

Starts a server on 127.0.0.1 against DATABASE_URL and times, through the HTTP API, the
province-level and national coverage reports and one province's school-level report; in
the same run it times `SELECT count(*) FROM devices`; then the gaps, SIM expiry and
audit-due reports. Prints each median time and its
ratio to the count. Target: every report faster than one count(*) scan (ratio < 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import asyncpg
import httpx
from _common import admin_token, running_server  # type: ignore[import-not-found]

from tests.database import asyncpg_dsn


async def median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    await fn()  # warm-up: connections, plans, caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def bench(url: str, base: str, runs: int) -> None:
    token = await admin_token(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    devices = await conn.fetchval("SELECT count(*) FROM devices")
    schools = await conn.fetchval("SELECT count(*) FROM schools")
    province = await conn.fetchval(
        "SELECT province_code FROM schools GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )

    async def count() -> None:
        await conn.fetchval("SELECT count(*) FROM devices")

    count_ms = await median_ms(count, runs)
    await conn.close()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:

        def report(path: str = "coverage", **params: str):  # type: ignore[no-untyped-def]
            async def call() -> None:
                r = await client.get(f"/api/v1/reports/{path}", params=params)
                r.raise_for_status()

            return call

        results = {
            "coverage, province level (all provinces)": await median_ms(
                report(level="province"), runs
            ),
            "coverage, national": await median_ms(report(level="nation"), runs),
            f"coverage, school level, province {province}": await median_ms(
                report(level="school", province=province), runs
            ),
            f"gaps, province {province}": await median_ms(report("gaps", province=province), runs),
            f"SIM expiry (all), province {province}": await median_ms(
                report("sim-expiry", within_days="all", province=province), runs
            ),
            "SIM expiry (30 days), nation": await median_ms(report("sim-expiry"), runs),
            f"audit due, province {province}": await median_ms(
                report("audit-due", province=province), runs
            ),
        }
    print(f"data: {devices:,} devices, {schools:,} schools; median of {runs} runs")
    print(f"SELECT count(*) FROM devices: {count_ms:8.1f} ms")
    for name, ms in results.items():
        print(f"{name + ':':<42} {ms:8.1f} ms   ratio to count(*): {ms / count_ms:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL to a database filled by scripts/seed_scale.py")
    with running_server(url) as (base, _):
        asyncio.run(bench(url, base, args.runs))


if __name__ == "__main__":
    main()

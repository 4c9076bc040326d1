"""Lookup benchmark: the authenticated GET /api/v1/devices/{asset_tag} against a bare
Litestar + asyncpg app doing the same single-row lookup, on the same database, in one run.

    DATABASE_URL=postgresql://…/scale uv run python scripts/bench_lookup.py [--seconds 10]

Both servers run as one uvicorn worker on 127.0.0.1; the same load generator (httpx, a
fixed number of concurrent connections, bounded in time) drives each in turn. Prints
requests/s and p50/p99 latency of both and the ratios. Target: ≥ 60% of the bare app's
requests/s, p99 ≤ 2× its p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time

import asyncpg
import httpx
from _common import ROOT, admin_token, bench_database, free_port, running_server  # type: ignore[import-not-found]

from tests.database import asyncpg_dsn


async def load(
    base: str, paths: list[str], headers: dict[str, str], seconds: float, concurrency: int
) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=10
    ) as client:

        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                r = await client.get(rng.choice(paths))
                latencies.append(time.perf_counter() - start)
                if r.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    return len(latencies) / elapsed, p50, p99, errors


async def sample_tags(url: str, n: int = 2000) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT asset_tag FROM devices TABLESAMPLE SYSTEM (5) LIMIT $1", n)
        if len(rows) < 10:
            rows = await conn.fetch("SELECT asset_tag FROM devices LIMIT $1", n)
        return [r[0] for r in rows]
    finally:
        await conn.close()


def bare_server(url: str) -> tuple[str, subprocess.Popen]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_lookup_app:app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT / "scripts",
        env={**os.environ, "BARE_DSN": asyncpg_dsn(url)},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/devices/none", timeout=1)
            return base, proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("bare app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with bench_database(os.environ.get("DATABASE_URL")) as url:
        tags = asyncio.run(sample_tags(url))
        if not tags:
            raise SystemExit("no devices: seed the database first (scripts/seed_scale.py)")
        token = asyncio.run(admin_token(url))
        base, proc = bare_server(url)
        try:
            asyncio.run(load(base, [f"/devices/{t}" for t in tags], {}, 2, args.concurrency))
            bare = asyncio.run(
                load(base, [f"/devices/{t}" for t in tags], {}, args.seconds, args.concurrency)
            )
        finally:
            proc.terminate()
            proc.wait(10)
        with running_server(url) as (api_base, _):
            headers = {"Authorization": f"Bearer {token}"}
            paths = [f"/api/v1/devices/{t}" for t in tags]
            asyncio.run(load(api_base, paths, headers, 2, args.concurrency))
            api = asyncio.run(load(api_base, paths, headers, args.seconds, args.concurrency))
    print(f"concurrency {args.concurrency}, {args.seconds:.0f} s each, {len(tags)} distinct tags")
    for name, (rps, p50, p99, errors) in (
        ("bare Litestar+asyncpg", bare),
        ("devicetrack API", api),
    ):
        print(
            f"{name:<22} {rps:8.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   errors {errors}"
        )
    print(
        f"ratio req/s: {api[0] / bare[0]:.0%} (target >= 60%)   "
        f"p99 ratio: {api[2] / bare[2]:.2f} (target <= 2)"
    )


if __name__ == "__main__":
    main()

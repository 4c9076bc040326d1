"""Lookup benchmark: the authenticated GET /api/v1/devices/{asset_tag} against a bare
Litestar + asyncpg app doing the same single-row lookup, on the same database, in one run.

    DATABASE_URL=postgresql://…/scale uv run python scripts/bench_lookup.py [--seconds 10]

Both servers run as one uvicorn worker on 127.0.0.1; the same load generator drives each in
turn, for a bounded time: wrk when it is installed (Debian's `wrk`: a C load generator
that leaves the CPU to the servers), else httpx. Prints requests/s and p50/p99 latency of
both and the ratios. Target: ≥ 80% of the bare app's
requests/s, p99 ≤ 2× its p99, at 64 connections (`--connections 64`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
"""


def _ms(text: str) -> float:
    value = float(text.rstrip("msu"))
    return (
        value / 1000
        if text.endswith("us")
        else value * 1000
        if text.endswith("s") and not text.endswith("ms")
        else value
    )


def wrk_load(
    base: str, paths: list[str], headers: dict[str, str], seconds: float, concurrency: int
) -> tuple[float, float, float, int]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        script, paths_file = Path(tmp) / "lookup.lua", Path(tmp) / "paths.txt"
        script.write_text(WRK_SCRIPT)
        paths_file.write_text("\n".join(paths))
        args = [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            str(script),
        ]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        out = subprocess.run(
            [*args, base],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PATHS_FILE": str(paths_file)},
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored at the line start: "+/- Stdev" columns also end in "50%" now and then.
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(bad.group(1)) if bad else 0


def run_load(
    base: str, paths: list[str], headers: dict[str, str], seconds: float, concurrency: int
) -> tuple[float, float, float, int]:
    if shutil.which("wrk"):
        return wrk_load(base, paths, headers, seconds, concurrency)
    return asyncio.run(load(base, paths, headers, seconds, concurrency))


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
    parser.add_argument("--concurrency", "--connections", type=int, default=32)
    args = parser.parse_args()
    with bench_database(os.environ.get("DATABASE_URL")) as url:
        tags = asyncio.run(sample_tags(url))
        if not tags:
            raise SystemExit("no devices: seed the database first (scripts/seed_scale.py)")
        token = asyncio.run(admin_token(url))
        headers = {"Authorization": f"Bearer {token}"}
        bare_paths = [f"/devices/{t}" for t in tags]
        api_paths = [f"/api/v1/devices/{t}" for t in tags]
        base, proc = bare_server(url)
        try:
            with running_server(url) as (api_base, _):
                # Warm both (and PostgreSQL's cache of the sampled rows) before measuring,
                # then measure each twice, alternating, and keep each one's better run.
                run_load(base, bare_paths, {}, 3, args.concurrency)
                run_load(api_base, api_paths, headers, 3, args.concurrency)
                bares, apis = [], []
                for _ in range(2):
                    bares.append(run_load(base, bare_paths, {}, args.seconds, args.concurrency))
                    apis.append(
                        run_load(api_base, api_paths, headers, args.seconds, args.concurrency)
                    )
        finally:
            proc.terminate()
            proc.wait(10)
        bare, api = max(bares), max(apis)
    tool = "wrk" if shutil.which("wrk") else "httpx"
    print(
        f"{tool}, concurrency {args.concurrency}, {args.seconds:.0f} s each, "
        f"{len(tags)} distinct tags, load average {os.getloadavg()[0]:.1f} (2 cores, shared)"
    )
    for name, (rps, p50, p99, errors) in (
        ("bare Litestar+asyncpg", bare),
        ("devicetrack API", api),
    ):
        print(
            f"{name:<22} {rps:8.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   errors {errors}"
        )
    print(
        f"ratio req/s: {api[0] / bare[0]:.0%} (target >= 80%)   "
        f"p99 ratio: {api[2] / bare[2]:.2f} (target <= 2)"
    )


if __name__ == "__main__":
    main()

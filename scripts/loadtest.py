"""A realistic load against a server on the scale data: scans (lookups by tag), loans and
returns, lists, and a report now and then, at a fixed concurrency, bounded in time.

    DATABASE_URL=postgresql://…/scale uv run python scripts/loadtest.py [--seconds 30]

Starts its own server on 127.0.0.1 against DATABASE_URL, picks one school with devices at
school and students, and prints throughput, p50/p99 per operation, and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections import defaultdict

import asyncpg
import httpx
from _common import admin_token, running_server  # type: ignore[import-not-found]

from tests.database import asyncpg_dsn


async def prepare(url: str) -> tuple[int, list[str], list[str], list[int]]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        school = await conn.fetchval(
            "SELECT school_id FROM devices WHERE status = 'at_school' AND kind = 'tablet'"
            " GROUP BY school_id ORDER BY count(*) DESC LIMIT 1"
        )
        free = [
            r[0]
            for r in await conn.fetch(
                "SELECT asset_tag FROM devices WHERE school_id = $1 AND status = 'at_school'"
                " AND kind IN ('tablet','laptop') AND condition <> 'broken' AND NOT needs_wipe"
                " AND installed_in_id IS NULL LIMIT 200",
                school,
            )
        ]
        sample = [
            r[0]
            for r in await conn.fetch(
                "SELECT asset_tag FROM devices TABLESAMPLE SYSTEM (1) LIMIT 2000"
            )
        ]
        students = [
            r[0]
            for r in await conn.fetch(
                "SELECT id FROM students WHERE school_id = $1 AND status = 'active' LIMIT 200",
                school,
            )
        ]
        # Loans need consent on record; the synthetic students get one here.
        await conn.executemany(
            "INSERT INTO consents (student_id, given_by, method, given_at) VALUES ($1, 'x',"
            " 'paper', current_date) ON CONFLICT DO NOTHING",
            [(s,) for s in students],
        )
        return school, free, sample, students
    finally:
        await conn.close()


async def run(
    base: str,
    token: str,
    school: int,
    free: list[str],
    sample: list[str],
    students: list[int],
    seconds: float,
    concurrency: int,
) -> None:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    samples: dict[str, list[str]] = defaultdict(list)
    free_tags = list(free)
    open_loans: list[int] = []
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        async def one(rng: random.Random) -> None:
            roll = rng.random()
            if roll < 0.6:
                name, call = "scan", client.get(f"/api/v1/devices/{rng.choice(sample)}")
            elif roll < 0.72 and free_tags and students:
                tag = free_tags.pop()
                name, call = (
                    "lend",
                    client.post(
                        "/api/v1/assignments",
                        json={"asset_tag": tag, "student_id": rng.choice(students)},
                    ),
                )
            elif roll < 0.84 and open_loans:
                name, call = (
                    "return",
                    client.post(
                        f"/api/v1/assignments/{open_loans.pop()}/return",
                        json={"condition_in": "good", "wiped": True},
                    ),
                )
            elif roll < 0.98:
                name, call = (
                    "list",
                    client.get("/api/v1/devices", params={"school": school, "limit": 50}),
                )
            else:
                name, call = (
                    "report",
                    client.get("/api/v1/reports/coverage", params={"level": "province"}),
                )
            start = time.perf_counter()
            response = await call
            latencies[name].append(time.perf_counter() - start)
            if response.status_code >= 400:
                errors[name] += 1
                if len(samples[name]) < 3:
                    samples[name].append(f"{response.status_code} {response.text[:160]}")
            elif name == "lend":
                open_loans.append(response.json()["id"])
            elif name == "return":
                free_tags.append(response.json()["asset_tag"])

        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                await one(rng)

        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.monotonic() - started
    total = sum(len(v) for v in latencies.values())
    print(
        f"{total} requests in {elapsed:.1f} s at concurrency {concurrency}: "
        f"{total / elapsed:.0f} req/s"
    )
    for name, values in sorted(latencies.items()):
        values.sort()
        p99 = values[max(0, int(len(values) * 0.99) - 1)] * 1000
        print(
            f"  {name:<7} {len(values):>6}  p50 {statistics.median(values) * 1000:7.1f} ms"
            f"  p99 {p99:7.1f} ms  errors {errors[name]}"
        )
        for sample in samples[name]:
            print(f"      e.g. {sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL to a database filled by scripts/seed_scale.py")
    school, free, sample, students = asyncio.run(prepare(url))
    with running_server(url) as (base, _):
        token = asyncio.run(admin_token(url))
        asyncio.run(
            run(base, token, school, free, sample, students, args.seconds, args.concurrency)
        )


if __name__ == "__main__":
    main()

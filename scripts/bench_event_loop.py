"""Event-loop benchmark: /health latency while the server does its heaviest work.

    DATABASE_URL=postgresql://…/scale uv run python scripts/bench_event_loop.py

Against a seeded database (scripts/seed_scale.py, 1,000,000 devices), starts one server
process on 127.0.0.1 and runs four scenarios one after the other, each while a separate
process asks GET /health every ~20 ms on a kept-alive connection:

1. a 100,000-device CSV upload (POST /api/v1/donations/{id}/devices, a new donation);
2. an XLSX export of those 100,000 devices (GET /api/v1/devices/export?format=xlsx&donation=…),
   twice: the first starts the worker process (cold), the second finds it running (warm);
3. a 20,000-label sheet PDF of them (POST /api/v1/labels, avery-l7651);
4. a CSV export of every device (GET /api/v1/devices/export, ≥ 1,000,000 rows).

`--only xlsx` (or upload, labels, csv, comma-separated) runs only those (the upload
always: the others read its devices). Prints, per scenario, the time, the rate, and
/health's samples, median, p99 and max; then the peak resident memory (VmHWM) of the
server process and of each worker process it started (the XLSX writer and the label
sheets run in worker processes, common/processes.py).
Targets (issue #15 item 3): /health max ≤ 100 ms in every scenario, CSV export ≥ 50,000
rows/s, XLSX ≥ 20,000 rows/s, every process ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _common import admin_token, bench_database, running_server  # type: ignore[import-not-found]
from bench_intake import _shift, make_rows, to_csv  # type: ignore[import-not-found]

from tests.database import asyncpg_dsn

INTERVAL = 0.020
SCENARIOS = ("upload", "xlsx", "labels", "csv")


def _sample(base: str, ready: Any, stop: Any, out: Any) -> None:
    """In a process of its own (so the client's work never delays its own clock): GET
    /health every INTERVAL until `stop` is set, saying `ready` once it does; send the
    latencies (s) back."""
    latencies: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/health")
        ready.set()
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/health")
            elapsed = time.perf_counter() - started
            latencies.append(elapsed)
            time.sleep(max(0.0, INTERVAL - elapsed))
    out.put(latencies)


def _children(pid: int) -> list[int]:
    """Children of every thread of `pid` (the pool's workers are started from a thread)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue  # the thread ended meanwhile
    return found


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        children = _children(todo.pop())
        found += children
        todo += children
    return found


def _peak_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Memory:
    """Polls the server's process tree every 50 ms, keeping each process's peak RSS
    (VmHWM, read while the process lives: pool workers come and go)."""

    def __init__(self, server: int) -> None:
        self.server = server
        self.peaks: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            time.sleep(0.05)

    def poll(self) -> None:
        for pid in [self.server, *_descendants(self.server)]:
            peak = _peak_mb(pid)
            if peak is None:
                continue
            name = "server" if pid == self.server else _kind(_cmdline(pid))
            old = self.peaks.get(pid, (name, 0.0))[1]
            self.peaks[pid] = (name, max(old, peak))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()


def _kind(cmdline: str) -> str:
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "multiprocessing" in cmdline:
        return "worker"
    return "child"


def measured(base: str, name: str, work: Callable[[], int]) -> dict[str, Any]:
    """Run `work` (returns how many rows or labels it handled) while /health is sampled."""
    context = multiprocessing.get_context("spawn")
    ready, stop, out = context.Event(), context.Event(), context.Queue()
    sampler = context.Process(target=_sample, args=(base, ready, stop, out))
    sampler.start()
    # The sampler's own start (imports) is not part of the scenario: a short one would
    # otherwise end before the first sample (on a busy box the start took over 1 s).
    ready.wait(60)
    time.sleep(0.2)
    started = time.perf_counter()
    count = work()
    elapsed = time.perf_counter() - started
    stop.set()
    latencies = sorted(out.get(timeout=60))
    sampler.join(10)
    ms = [x * 1000 for x in latencies]
    return {
        "name": name,
        "count": count,
        "seconds": elapsed,
        "samples": len(ms),
        "p50": statistics.median(ms),
        "p99": ms[max(0, int(len(ms) * 0.99) - 1)],
        "max": ms[-1],
    }


async def _earlier_runs(url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM donors WHERE name LIKE 'Loop bench%'"))
    finally:
        await conn.close()


def _client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=1800)


def _donation(client: httpx.Client, n: int) -> int:
    donor = client.post(
        "/api/v1/donors",
        json={"name": f"Loop bench {time.time()}", "short_name": "Bench", "kind": "telecom"},
    ).json()
    donation = client.post(
        "/api/v1/donations",
        json={
            "donor_id": donor["id"],
            "province_code": "11",
            "reference": f"LOOP-{time.time()}",
            "pledged": [{"kind": "tablet", "quantity": n}],
        },
    ).json()
    return int(donation["id"])


def _download(client: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[int, int]:
    """Stream a response to nowhere; return (status, newlines seen, or bytes)."""
    lines = size = 0
    with client.stream(method, path, **kwargs) as response:
        for chunk in response.iter_bytes(256 * 1024):
            lines += chunk.count(b"\n")
            size += len(chunk)
        return response.status_code, lines or size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upload", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=20_000)
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help="comma-separated scenarios to run, of "
        + ", ".join(SCENARIOS)
        + " (the upload always runs: the others read its devices)",
    )
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if only - set(SCENARIOS):
        parser.error(f"--only: unknown {', '.join(sorted(only - set(SCENARIOS)))}")
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL to a seeded database (scripts/seed_scale.py)")
    results = []
    load_start = os.getloadavg()[0]
    with bench_database(url) as url, running_server(url) as (base, proc):
        token = asyncio.run(admin_token(url))
        # Identities no earlier run of this script registered in this database.
        rows = make_rows(args.upload)
        _shift(rows, 10 + asyncio.run(_earlier_runs(url)))
        data = to_csv(rows)
        memory = Memory(proc.pid)
        try:
            with _client(base, token) as client:
                donation = _donation(client, args.upload)
                tags: list[str] = []

                def upload() -> int:
                    response = client.post(
                        f"/api/v1/donations/{donation}/devices",
                        files={"file": ("devices.csv", data, "text/csv")},
                    )
                    if response.status_code != 201:
                        raise SystemExit(f"upload: {response.status_code} {response.text[:300]}")
                    tags.extend(response.json()["asset_tags"])
                    return len(tags)

                def xlsx() -> int:
                    status, _ = _download(
                        client,
                        "GET",
                        "/api/v1/devices/export",
                        params={"format": "xlsx", "donation": donation},
                    )
                    assert status == 200, status
                    return args.upload

                def labels() -> int:
                    status, _ = _download(
                        client,
                        "POST",
                        "/api/v1/labels",
                        json={"asset_tags": tags[: args.labels], "template": "avery-l7651"},
                    )
                    assert status == 200, status
                    return min(args.labels, len(tags))

                def csv_all() -> int:
                    status, lines = _download(client, "GET", "/api/v1/devices/export")
                    assert status == 200, status
                    return lines - 1  # the header line

                results.append(measured(base, f"upload {args.upload:,} devices (CSV)", upload))
                if "xlsx" in only:
                    # The first job of a server starts its worker process, which imports the
                    # app's modules (~3 s of CPU): measured apart from the next, warm one.
                    results.append(measured(base, f"XLSX {args.upload:,} rows, cold", xlsx))
                    results.append(measured(base, f"XLSX {args.upload:,} rows, warm", xlsx))
                if "labels" in only:
                    results.append(measured(base, f"label sheet {args.labels:,} labels", labels))
                if "csv" in only:
                    results.append(measured(base, "CSV export, every device", csv_all))
        finally:
            memory.stop()
    print(
        f"load average at the start: {load_start:.1f}, at the end: {os.getloadavg()[0]:.1f}"
        " (1 min; 2 cores, shared)"
    )
    print(
        f"{'scenario':<34} {'rows':>10} {'s':>7} {'rows/s':>9} "
        f"{'samples':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    for r in results:
        print(
            f"{r['name']:<34} {r['count']:>10,} {r['seconds']:>7.1f} "
            f"{r['count'] / r['seconds']:>9,.0f} {r['samples']:>8} {r['p50']:>7.1f} "
            f"{r['p99']:>7.1f} {r['max']:>7.1f}"
        )
    for pid, (name, peak) in sorted(memory.peaks.items()):
        print(f"peak RSS {name:<17} pid {pid:<8} {peak:>6.0f} MB")
    worst = max(r["max"] for r in results)
    print(f"worst /health: {worst:.1f} ms (target <= 100 ms)")
    sys.exit(0)


if __name__ == "__main__":
    main()

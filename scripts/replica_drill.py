"""Read-replica drill: a primary and a streaming replica on 127.0.0.1, the app against both.

    uv run python scripts/replica_drill.py            # 100,000 devices
    uv run python scripts/replica_drill.py --small    # 3,000 devices, about a minute

Starts PostgreSQL twice from the same binaries (pgserver's, else the machine's
/usr/lib/postgresql/*/bin; DEVICETRACK_PG_BIN overrides) in a temporary directory: a primary
(initdb) and a replica (`pg_basebackup -R`, hot standby), migrates and seeds the primary,
serves the app with DATABASE_URL on the primary and DEVICETRACK_REPLICA_URL on the replica,
and shows, asserting each:

1. reports (coverage at every level, gaps, audit-due, the device list) are served by the
   replica: its own counters (pg_stat_user_tables scans) grow and its pg_stat_activity
   shows the app's replica connections running them; the primary's do not grow;
2. a write (PATCH of a device) lands on the primary and answers with the read-your-writes
   cookie;
3. a lag is tolerated: with replay paused on the replica (pg_wal_replay_pause) and a new
   write on the primary, reports still answer (from the stale replica, which does not have
   the write: proof of where they were read), /health shows the lag, and the writer's own
   next read (the cookie) goes to the primary and sees its write; once the lag passes
   DEVICETRACK_REPLICA_MAX_LAG_SECONDS (5 s here) /health says "lagging" and every read
   goes to the primary; replay resumed, the replica catches up;
4. the replica stopped (pg_ctl stop -m fast): every read still answers 200, from the
   primary (its counters grow), without a connect timeout per request, and /health says
   "unavailable"; started again, reads go back to it.

The last line printed is a JSON summary (tests/test_replica.py reads it). Exits non-zero
when a check fails. Touches nothing but its temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _common import ROOT, admin_token, free_port  # type: ignore[import-not-found]

from devicetrack.db import migrate

# Tables the drill's reads scan (the principal's own lookups, the job worker's polling and
# the replica's lag check touch none of them).
REPORT_TABLES = (
    "devices",
    "schools",
    "enrolments",
    "school_counts",
    "school_seen",
    "school_connected",
    "stock_counts",
    "audits",
)
REPORTS = [
    ("/api/v1/reports/coverage", {"level": "nation"}),
    ("/api/v1/reports/coverage", {"level": "province"}),
    ("/api/v1/reports/coverage", {"level": "school", "province": "01"}),
    ("/api/v1/reports/gaps", {}),
    ("/api/v1/reports/audit-due", {}),
    ("/api/v1/devices", {"status": "at_school", "limit": "50"}),
]


# Reads tolerate this much lag in the drill (30 s by default).
MAX_LAG = 5


class DrillFailed(AssertionError):
    pass


BEGAN = time.perf_counter()


def check(ok: bool, what: str) -> None:
    at = f"[{time.perf_counter() - BEGAN:5.1f} s] "
    print(at + ("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        raise DrillFailed(what)


# ---- two PostgreSQL servers ------------------------------------------------------------


def pg_bin() -> Path:
    if os.environ.get("DEVICETRACK_PG_BIN"):
        return Path(os.environ["DEVICETRACK_PG_BIN"])
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        if (POSTGRES_BIN_PATH / "pg_basebackup").exists():
            return Path(POSTGRES_BIN_PATH)
    except ImportError:
        pass
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_basebackup").exists():
            return candidate
    raise SystemExit("no PostgreSQL binaries with pg_basebackup found")


class Cluster:
    """PostgreSQL servers run by an unprivileged user (initdb refuses root)."""

    def __init__(self, root: Path) -> None:
        self.bin = pg_bin()
        self.root = root
        self.user: str | None = None
        if os.geteuid() == 0:
            from pgserver.utils import ensure_user_exists

            self.user = "pgserver"  # the embedded server's own system user
            ensure_user_exists(self.user)
            entry = pwd.getpwnam(self.user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        root.chmod(0o755)

    def run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin / tool), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")

    def options(self, port: int) -> str:
        return (
            f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c wal_level=replica"
            " -c max_wal_senders=4 -c hot_standby=on -c fsync=off -c shared_buffers=64MB"
            " -c max_standby_streaming_delay=30s -c hot_standby_feedback=on"
        )

    def start(self, name: str, port: int) -> None:
        self.run("pg_ctl", "-D", name, "-l", f"{name}.log", "-o", self.options(port), "-w", "start")

    def stop(self, name: str) -> None:
        self.run("pg_ctl", "-D", name, "-m", "fast", "-w", "stop")

    def primary(self, port: int) -> str:
        self.run("initdb", "-D", "primary", "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start("primary", port)
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def replica(self, primary_port: int, port: int) -> None:
        # -R writes standby.signal and primary_conninfo: the copy starts as a streaming
        # hot standby of the primary.
        self.run(
            "pg_basebackup",
            "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
            "-D", "replica", "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        self.start("replica", port)


@contextmanager
def two_servers() -> Iterator[tuple[Cluster, str, str]]:
    root = Path(tempfile.mkdtemp(prefix="devicetrack-replica-"))
    cluster = Cluster(root)
    p_port, r_port = free_port(), free_port()
    started: list[str] = []
    try:
        admin = cluster.primary(p_port)
        started.append("primary")
        asyncio.run(_create_database(admin))
        primary = f"postgresql://postgres@127.0.0.1:{p_port}/devicetrack"
        yield cluster, primary, f"{p_port}:{r_port}"
    finally:
        for name in ("replica", "primary"):
            if (root / name / "postmaster.pid").exists():
                try:
                    cluster.stop(name)
                except Exception as exc:  # best effort: the directory goes anyway
                    print(f"stopping {name}: {exc}", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)


async def _create_database(admin: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute("CREATE DATABASE devicetrack")
    finally:
        await conn.close()


# ---- evidence from the servers themselves ----------------------------------------------


async def scans(url: str) -> int:
    """Sequential and index scans of the report tables, as this server counted them."""
    conn = await asyncpg.connect(url)
    try:
        value = await conn.fetchval(
            "SELECT COALESCE(sum(seq_scan + COALESCE(idx_scan, 0)), 0)"
            " FROM pg_stat_user_tables WHERE relname = ANY($1::text[])",
            list(REPORT_TABLES),
        )
        return int(value)
    finally:
        await conn.close()


async def grown(url: str, before: int, poke: Callable[[], Awaitable[object]]) -> int:
    """How much the scans grew. A backend flushes its counters at the end of a transaction
    at most once a second, else ten seconds after it went idle: so after a second's pause
    one more round of reads (`poke`) makes the busy connections flush."""
    delta = await scans(url) - before
    if delta > 0:
        return delta
    await asyncio.sleep(1.1)
    await poke()
    deadline = time.monotonic() + 12
    while True:
        delta = await scans(url) - before
        if delta > 0 or time.monotonic() > deadline:
            return delta
        await asyncio.sleep(0.3)


async def app_queries_on(url: str) -> list[str]:
    """The last statement of each of the app's connections to the replica."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT query FROM pg_stat_activity WHERE application_name = 'devicetrack-replica'"
        )
        return [r["query"] for r in rows]
    finally:
        await conn.close()


async def sql(url: str, statement: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(statement)
    finally:
        await conn.close()


# ---- the drill -------------------------------------------------------------------------


async def read_all(client: httpx.AsyncClient, rounds: int) -> list[float]:
    """Every report `rounds` times; each must answer 200. Returns the times in ms."""
    times = []
    for _ in range(rounds):
        for path, params in REPORTS:
            started = time.perf_counter()
            r = await client.get(path, params=params)
            times.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise DrillFailed(f"GET {path} {params} answered {r.status_code}: {r.text[:300]}")
    return times


async def health(client: httpx.AsyncClient) -> dict[str, Any]:
    replica: dict[str, Any] = (await client.get("/health")).json().get("replica") or {}
    return replica


async def wait_health(client: httpx.AsyncClient, status: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        seen = await health(client)
        if seen.get("status") == status or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.3)


async def find_serial(client: httpx.AsyncClient, serial: str) -> int:
    r = await client.get("/api/v1/devices", params={"q": serial})
    if r.status_code != 200:
        raise DrillFailed(f"device search answered {r.status_code}: {r.text[:300]}")
    return len(r.json()["items"])


async def drill(base: str, token: str, cluster: Cluster, primary: str, replica: str) -> dict:
    summary: dict[str, Any] = {}
    auth = {"Authorization": f"Bearer {token}"}
    # Two callers: a reader who never writes, and a writer whose client keeps cookies.
    async with (
        httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as reader,
        httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as writer,
    ):
        print("1. reports are served by the replica", flush=True)
        seen = await wait_health(reader, "ok", 15)
        check(seen.get("status") == "ok", f"/health: replica {seen}")
        await read_all(reader, 1)  # warm both pools
        p0, r0 = await scans(primary), await scans(replica)
        times = await read_all(reader, 3)
        r_delta = await grown(replica, r0, lambda: read_all(reader, 1))
        p_delta = await scans(primary) - p0
        queries = await app_queries_on(replica)
        check(r_delta > 0, f"replica's own counters: {r_delta} scans of the report tables")
        check(p_delta == 0, f"primary's counters: {p_delta} scans of the report tables")
        check(
            any("devices" in q or "school" in q for q in queries),
            f"replica's pg_stat_activity: {len(queries)} app connection(s) ran the reports",
        )
        summary["reports_on_replica_scans"] = r_delta
        summary["reports_on_primary_scans"] = p_delta
        summary["report_ms_median"] = round(sorted(times)[len(times) // 2], 1)

        print("2. writes go to the primary", flush=True)
        tag = await sql(primary, "SELECT asset_tag FROM devices WHERE kind = 'tablet' LIMIT 1")
        serial = f"DRILL{uuid.uuid4().hex[:10].upper()}"
        r = await writer.patch(f"/api/v1/devices/{tag}", json={"serial": serial})
        check(r.status_code == 200, f"PATCH /devices/{tag} answered {r.status_code}")
        stored = await sql(primary, f"SELECT serial FROM devices WHERE asset_tag = '{tag}'")
        check(stored == serial, "the write is on the primary")
        check("dt_wrote" in writer.cookies, "the write answered with the read-your-writes cookie")

        print("3. a lag of seconds is tolerated; the writer reads its own write", flush=True)
        await sql(replica, "SELECT pg_wal_replay_pause()")
        try:
            serial2 = f"DRILL{uuid.uuid4().hex[:10].upper()}"
            r = await writer.patch(f"/api/v1/devices/{tag}", json={"serial": serial2})
            check(r.status_code == 200, "a write while replay is paused")
            await asyncio.sleep(2.5)
            await read_all(reader, 1)
            check(True, "reports answer while the replica lags")
            check(
                await find_serial(reader, serial2) == 0,
                "another caller's search is served by the (stale) replica: no such serial yet",
            )
            check(
                await find_serial(writer, serial2) == 1,
                "the writer's own search (cookie) goes to the primary: its serial is found",
            )
            lagging = await health(reader)
            summary["lag_seen_seconds"] = lagging.get("lag_seconds")
            check((lagging.get("lag_seconds") or 0) > 0, f"/health shows the lag: {lagging}")
            # Past DEVICETRACK_REPLICA_MAX_LAG_SECONDS the replica is too stale: every read
            # goes to the primary until it catches up.
            too_far = await wait_health(reader, "lagging", MAX_LAG + 8)
            check(too_far.get("status") == "lagging", f"past {MAX_LAG} s: /health {too_far}")
            check(
                await find_serial(reader, serial2) == 1,
                "past the limit, another caller's search goes to the primary: serial found",
            )
        finally:
            await sql(replica, "SELECT pg_wal_replay_resume()")
        back = await wait_health(reader, "ok", 15)
        check(back.get("status") == "ok", f"replay resumed: /health {back}")
        deadline = time.monotonic() + 10
        caught_up = False
        while not caught_up and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            caught_up = await find_serial(reader, serial2) == 1
        check(caught_up, "the replica caught up: another caller's search (on it) finds it")

        print("4. the replica stopped: reads fall back to the primary with no error", flush=True)
        r_port = replica.rsplit(":", 1)[1].split("/")[0]
        cluster.stop("replica")
        p0 = await scans(primary)
        started = time.perf_counter()
        times = await read_all(reader, 3)
        elapsed = time.perf_counter() - started
        check(True, f"{len(times)} reads answered 200 in {elapsed:.1f} s, replica down")
        p_delta = await grown(primary, p0, lambda: read_all(reader, 1))
        check(p_delta > 0, f"primary's counters: {p_delta} scans (it served the reads)")
        down = await health(reader)
        check(down.get("status") == "unavailable", f"/health: replica {down.get('status')}")
        slowest = max(times)
        check(slowest < 3000, f"no read waited on the dead replica (slowest {slowest:.0f} ms)")
        summary["fallback_reads"] = len(times)
        summary["fallback_slowest_ms"] = round(slowest, 1)

        print("5. the replica back: reads return to it", flush=True)
        cluster.start("replica", int(r_port))
        started = time.perf_counter()
        back = await wait_health(reader, "ok", 30)
        summary["back_on_replica_seconds"] = round(time.perf_counter() - started, 1)
        check(back.get("status") == "ok", f"/health: replica {back.get('status')}")
        r0 = await scans(replica)
        await read_all(reader, 1)
        r_delta = await grown(replica, r0, lambda: read_all(reader, 1))
        check(r_delta > 0, f"replica's counters: {r_delta} scans again")
    return summary


@contextmanager
def app_server(
    primary: str, replica: str, log_path: Path
) -> Iterator[tuple[str, Callable[[], None]]]:
    """`devicetrack serve` on both databases; the second value waits until it is ready."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": primary,
        "DEVICETRACK_REPLICA_URL": replica,
        "DEVICETRACK_REPLICA_CHECK_SECONDS": "1",
        "DEVICETRACK_REPLICA_RETRY_SECONDS": "5",
        "DEVICETRACK_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG),
    }
    command = [sys.executable, "-m", "devicetrack.cli", "serve", "--no-migrate", "--no-worker"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*command, "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"

    def ready() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("the app ended: " + log_path.read_text()[-2000:])
            try:
                if httpx.get(base + "/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the app did not become ready")

    try:
        yield base, ready
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="3,000 devices: about a minute")
    parser.add_argument("--devices", type=int, default=None)
    args = parser.parse_args()
    devices = args.devices or (3_000 if args.small else 100_000)
    schools = max(50, devices // 100)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from seed_scale import Plan, Timer, seed  # type: ignore[import-not-found]

    began = time.perf_counter()
    with two_servers() as (cluster, primary, ports):
        p_port, r_port = ports.split(":")
        print(f"primary on 127.0.0.1:{p_port}, binaries {cluster.bin}", flush=True)
        migrate.upgrade(primary)
        replica = f"postgresql://postgres@127.0.0.1:{r_port}/devicetrack"
        log_path = cluster.root / "app.log"
        # The app starts while the primary is seeded and copied: it finds the replica
        # missing at first (reads on the primary), then streaming.
        with app_server(primary, replica, log_path) as (base, ready):
            asyncio.run(seed(primary, Plan.sized(devices, schools), 2025, Timer(), True))
            print(f"seeded {devices:,} devices, {schools:,} schools", flush=True)
            cluster.replica(int(p_port), int(r_port))
            in_recovery = asyncio.run(sql(replica, "SELECT pg_is_in_recovery()"))
            check(bool(in_recovery), f"replica on 127.0.0.1:{r_port} is a hot standby")
            token = asyncio.run(admin_token(primary))
            ready()
            print(f"app on {base}", flush=True)
            try:
                summary = asyncio.run(drill(base, token, cluster, primary, replica))
            except DrillFailed as failure:
                print(json.dumps({"ok": False, "failed": str(failure)}))
                raise SystemExit(1) from None
            finally:
                logged = [line for line in log_path.read_text().splitlines() if "replica" in line]
                print("the app's log about the replica:", *logged[-8:], sep="\n  ")
        summary["fallback_logged"] = any("reads go to the primary" in x for x in logged)
    summary.update(ok=True, devices=devices, seconds=round(time.perf_counter() - began, 1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

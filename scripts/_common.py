"""Shared helpers for the benchmark and drill scripts: a scratch database, a server
process on 127.0.0.1, and an admin token."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devicetrack.auth.secrets import new_token, token_digest  # noqa: E402
from devicetrack.db import migrate  # noqa: E402
from tests.database import asyncpg_dsn, scratch_database, server_url  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def bench_database(keep_url: str | None = None) -> Iterator[str]:
    """A migrated scratch database (on DATABASE_URL's server, or an embedded one)."""
    if keep_url:
        migrate.upgrade(keep_url)
        yield keep_url
        return
    with server_url() as server, scratch_database(server) as url:
        migrate.upgrade(url)
        yield url


@contextmanager
def running_server(
    url: str, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    process_env = {**os.environ, "DATABASE_URL": url, **(env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devicetrack.cli",
            "serve",
            "--no-migrate",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=process_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: on a loaded 2-core box importing the app alone took ~25 s.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server did not become ready")
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def admin_token(url: str) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        user_id = await conn.fetchval(
            "INSERT INTO users (email, full_name, password_hash, role) VALUES ($1, 'bench', 'x',"
            " 'admin') RETURNING id",
            f"bench-{uuid.uuid4().hex[:8]}@bench.devicetrack.vn",
        )
        token = new_token("dt")
        await conn.execute(
            "INSERT INTO auth_tokens (token_hash, user_id, expires_at)"
            " VALUES ($1, $2, now() + interval '2 hours')",
            token_digest(token),
            user_id,
        )
        return token
    finally:
        await conn.close()


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process and its children (uvicorn may fork)."""
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return total


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)

"""`devicetrack serve --workers 2`: two processes, each with its own credential cache
(auth/cache.py). A revoked API key and a deactivated user must stop working in every
process within DEVICETRACK_AUTH_CACHE_SECONDS, whichever process served the change, and
even when the change was made in the database behind the app's back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.factories import Factory
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[1]
TTL = 2.0


@pytest.fixture
def two_workers(database_url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEVICETRACK_AUTH_CACHE_SECONDS": str(TTL),
    }
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "devicetrack.cli", "serve", "--no-migrate", "--no-worker"),
            *("--workers", "2", "--port", str(port)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "the server ended while starting"
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def fresh_connections(base: str) -> httpx.AsyncClient:
    """A client opening a new connection for every request, so both processes (which
    accept from one socket) take their share."""
    return httpx.AsyncClient(
        base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
    )


async def statuses(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> set[int]:
    return {(await client.get("/api/v1/me", headers=headers)).status_code for _ in range(n)}


async def last_accepted_after(
    client: httpx.AsyncClient, headers: dict[str, str], since: float
) -> float:
    """Seconds from `since` to the last 200 seen, polling until TTL + 1.5 s have passed."""
    last = 0.0
    while time.monotonic() - since < TTL + 1.5:
        if await statuses(client, headers, 1) == {200}:
            last = time.monotonic() - since
    return last


async def test_a_revoked_key_and_a_deactivated_user_stop_in_every_process_within_the_ttl(
    two_workers: str, factory: Factory, db: asyncpg.Pool
) -> None:
    admin = await factory.admin()
    school = await factory.school()
    staff = await factory.staff(school)
    officer = await factory.officer()
    async with fresh_connections(two_workers) as client:
        created = await client.post(
            "/api/v1/api-keys",
            json={"name": "SMAS", "user_id": staff.user_id},
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        key = {"X-API-Key": created.json()["key"]}
        # Every credential resolved (and cached) by both processes.
        for headers in (key, officer.headers, admin.headers):
            assert await statuses(client, headers, 20) == {200}

        # Revoked through the API: the process that serves it forgets it at once, the
        # other within the TTL.
        key_id = created.json()["id"]
        revoked = await client.delete(f"/api/v1/api-keys/{key_id}", headers=admin.headers)
        assert revoked.status_code == 204, revoked.text
        since = time.monotonic()
        assert await last_accepted_after(client, key, since) <= TTL + 0.2
        assert await statuses(client, key, 20) == {401}

        # Deactivated behind the app's back (no process hears of it): within the TTL too.
        await db.execute("UPDATE users SET active = false WHERE id = $1", officer.user_id)
        since = time.monotonic()
        assert await last_accepted_after(client, officer.headers, since) <= TTL + 0.2
        assert await statuses(client, officer.headers, 20) == {401}
        # The others are untouched.
        assert await statuses(client, admin.headers, 10) == {200}

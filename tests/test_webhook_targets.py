"""Webhook targets under attack: the address a delivery connects to is checked as it
connects (DNS rebinding), and IPv6 forms that carry a private IPv4 address are refused.
Deliveries go through the real job runner to a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.app import create_app
from devicetrack.config import Settings
from tests.factories import Factory, assert_problem
from tests.job_helpers import run_jobs
from tests.lifecycle_helpers import API, make_scene
from tests.webhook_helpers import Receiver, receiver

REBOUND = "rebind.example"
PUBLIC = "93.184.216.34"


@pytest.fixture
def target() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A name whose DNS answers a public address twice (the check when the webhook is made,
    the check before a try) and 127.0.0.1 from then on, as an attacker's DNS server with a
    zero TTL does. Every other name resolves as usual. Returns the answers given."""
    real = socket.getaddrinfo
    answers: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != REBOUND:
            return real(host, port, *args, **kwargs)
        address = PUBLIC if len(answers) < 2 else "127.0.0.1"
        answers.append(address)
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


async def test_a_name_rebound_to_this_machine_after_the_check_is_not_reached(
    client: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    settings: Settings,
    target: Receiver,
    rebinding: list[str],
) -> None:
    assert not settings.webhook_allow_private
    scene = await make_scene(client, db, factory)
    port = target.url.split(":")[2].split("/")[0]
    created = await client.post(
        f"{API}/webhooks",
        headers=scene.admin.headers,
        json={"url": f"http://{REBOUND}:{port}/hooks", "events": ["device.registered"]},
    )
    assert created.status_code == 201, created.text  # it resolved to a public address
    await scene.tablets(1)
    await run_jobs(settings)
    assert len(rebinding) >= 3, rebinding  # the name was looked up again to connect
    assert target.wait_for(1, 1.0) == [], "the delivery reached 127.0.0.1"
    row = await db.fetchrow("SELECT status, attempts, last_error FROM webhook_deliveries")
    assert row is not None and row["attempts"] == 1
    assert "private network" in row["last_error"], row["last_error"]


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/hooks",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a00:1]/hooks",  # NAT64 of 10.0.0.1
        "http://[2002:7f00:1::1]/hooks",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/hooks",  # 6to4 of 169.254.169.254
        "http://2130706433/hooks",  # 127.0.0.1 as a number
        "http://0x7f000001/hooks",
        "http://0.0.0.0:5432/",
        "http://[::]/hooks",
        "http://[::ffff:7f00:1]/hooks",
    ],
)
async def test_ipv6_forms_of_private_ipv4_and_odd_numbers_are_refused(
    client: AsyncTestClient, factory: Factory, url: str
) -> None:
    admin = await factory.admin()
    answer = await client.post(
        f"{API}/webhooks", headers=admin.headers, json={"url": url, "events": ["device.registered"]}
    )
    [error] = assert_problem(answer, 422)["errors"]
    assert error["field"] == "url", error


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"[]",
        b'{"url": 5, "events": ["device.registered"]}',
        b'{"url": "http://example.org/", "events": "device.registered"}',
        b'{"url": "http://example.org/", "events": [null]}',
        b'{"url": "http://exa\\u0000mple.org/", "events": ["device.registered"]}',
        b'{"url": "http://[::1/", "events": ["device.registered"]}',
        b'{"url": "http://example.org:99999/", "events": ["device.registered"]}',
        b'{"url": "http://' + b"a" * 64 + b'.example/", "events": ["device.registered"]}',
        b'{"url": "http://a..b/", "events": ["device.registered"]}',
        b'{"url": "http://\\u2025.example/", "events": ["device.registered"]}',
        b'{"url": "http://%00/", "events": ["device.registered"]}',
        b'{"url": "http://' + b"x" * 2100 + b'/", "events": ["device.registered"]}',
        b'{"url": "http://example.org/", "events": []}',
        b'{"url": "http://example.org/", "events": ["device.registered"], "province_code": "01"}',
        b"\xff\xfe{",
        b'{"url": "http://example.org/", "events": ["device.registered"' + b", 1" * 10 + b"]}",
    ],
)
async def test_malformed_bodies_are_a_4xx_problem_never_a_500(
    client: AsyncTestClient, factory: Factory, body: bytes
) -> None:
    admin = await factory.admin()
    answer = await client.post(
        f"{API}/webhooks",
        headers={**admin.headers, "content-type": "application/json"},
        content=body,
    )
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "url",
    ["http://8.8.8.8/a\x01b", "http://8.8.8.8/a\tb", "http://8.8.8.8/\x7f", "http://8.8.8.8/a b"],
)
async def test_a_url_with_a_control_character_is_refused(
    client: AsyncTestClient, factory: Factory, url: str
) -> None:
    admin = await factory.admin()
    answer = await client.post(
        f"{API}/webhooks", headers=admin.headers, json={"url": url, "events": ["device.registered"]}
    )
    assert assert_problem(answer, 422)["errors"][0]["field"] == "url"


async def test_one_webhook_the_client_cannot_send_to_does_not_fail_the_others(
    client: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    settings: Settings,
    target: Receiver,
) -> None:
    """A subscription stored with a URL the HTTP client refuses (made before the check
    above): its try is recorded as failed, and the batch's other deliveries as delivered."""
    hook_settings = replace(settings, webhook_allow_private=True)
    scene = await make_scene(client, db, factory)
    async with AsyncTestClient(app=create_app(hook_settings)) as hooks:
        for _ in range(2):
            made = await hooks.post(
                f"{API}/webhooks",
                headers=scene.admin.headers,
                json={"url": target.url, "events": ["device.registered"]},
            )
            assert made.status_code == 201, made.text
    bad = made.json()["id"]
    await db.execute("UPDATE webhook_subscriptions SET url = url || E'\\x01' WHERE id = $1", bad)
    await scene.tablets(1)
    await run_jobs(hook_settings)
    rows = {
        r["subscription_id"]: r
        for r in await db.fetch(
            "SELECT subscription_id, status, last_error FROM webhook_deliveries"
        )
    }
    [good] = [k for k in rows if k != bad]
    assert rows[good]["status"] == "delivered", dict(rows[good])
    assert rows[bad]["last_error"], dict(rows[bad])  # its try is recorded
    assert len(target.wait_for(1, 2.0)) == 1


@contextmanager
def endless_answer() -> Iterator[str]:
    """A receiver that answers 200 and then a body that never ends: a byte every 0.2 s (no
    read timeout ever fires) for up to a minute. Yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-length", str(10**9))
            self.end_headers()
            stop = time.monotonic() + 60
            try:
                while time.monotonic() < stop:
                    self.wfile.write(b"x" * 1024)
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass  # the client hung up: what it should do

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_receiver_answering_without_end_does_not_hold_the_worker(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, settings: Settings
) -> None:
    hook_settings = replace(settings, webhook_allow_private=True, webhook_timeout_seconds=2.0)
    scene = await make_scene(client, db, factory)
    with endless_answer() as url:
        async with AsyncTestClient(app=create_app(hook_settings)) as hooks:
            made = await hooks.post(
                f"{API}/webhooks",
                headers=scene.admin.headers,
                json={"url": url, "events": ["device.registered"]},
            )
            assert made.status_code == 201, made.text
        await scene.tablets(1)
        started = time.monotonic()
        await asyncio.wait_for(run_jobs(hook_settings), 30)
        assert time.monotonic() - started < 15
    row = await db.fetchrow("SELECT status, last_status_code FROM webhook_deliveries")
    assert row is not None and (row["status"], row["last_status_code"]) == ("delivered", 200)

"""Webhooks: signed per Standard Webhooks (verified here with the standardwebhooks library),
written to an outbox in the transaction of the change and delivered by the job runner to a
real receiver on 127.0.0.1; retried after a failure; scoped to their owner; never a
student's name."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient
from standardwebhooks import Webhook

from devicetrack.app import create_app
from devicetrack.config import Settings
from devicetrack.jobs.runner import InProcessWorker
from devicetrack.jobs.runtime import Runtime
from devicetrack.worker import build, run_now
from tests.factories import DIEN_BIEN, LAI_CHAU, Caller, Factory, assert_problem
from tests.job_helpers import run_jobs
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.live_server import live_server
from tests.webhook_helpers import Receiver, receiver

ALL_DEVICE_EVENTS = [
    "device.registered",
    "device.allocated",
    "device.received",
    "device.assigned",
    "device.returned",
    "device.status_changed",
]


@pytest.fixture(scope="module")
def hook_settings(settings: Settings) -> Settings:
    """The app and worker as the tests run them: receivers on 127.0.0.1 allowed
    (DEVICETRACK_WEBHOOK_ALLOW_PRIVATE=1) and a first retry after one second."""
    return replace(settings, webhook_allow_private=True, webhook_retry_seconds=1)


@pytest.fixture(scope="module")
async def hooks(hook_settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(
        app=create_app(hook_settings), raise_server_exceptions=False
    ) as test_client:
        test_client.headers["Accept-Language"] = "en"
        yield test_client


@pytest.fixture
def target() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


async def subscribe(
    hooks: AsyncTestClient, caller: Caller, url: str, events: list[str]
) -> dict[str, Any]:
    response = await hooks.post(
        f"{API}/webhooks", headers=caller.headers, json={"url": url, "events": events}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


def verified(secret: str, delivery: Any) -> Any:
    """The body, once standardwebhooks has checked its signature (it raises otherwise)."""
    return Webhook(secret).verify(delivery.body, delivery.headers)


async def test_a_receiver_gets_a_signed_device_registered_within_five_seconds(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    scene = await make_scene(client, db, factory)
    hook = await subscribe(hooks, scene.admin, target.url, ["device.registered"])
    runtime = Runtime(settings=hook_settings)
    worker = InProcessWorker(lambda: (build(runtime), runtime))
    worker.start()
    try:
        await asyncio.sleep(1.0)  # the worker is listening
        tags = await scene.tablets(2)
        committed = time.monotonic()
        [got] = await asyncio.to_thread(target.wait_for, 1, 10.0)
    finally:
        await asyncio.to_thread(worker.stop)
    assert got.at - committed < 5.0, f"delivered {got.at - committed:.2f} s after the commit"
    body = verified(hook["secret"], got)
    assert body["type"] == "device.registered"
    assert body["data"]["count"] == 2
    assert [d["asset_tag"] for d in body["data"]["devices"]] == tags
    assert {d["kind"] for d in body["data"]["devices"]} == {"tablet"}
    assert {d["status"] for d in body["data"]["devices"]} == {"in_stock"}
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["content-type"] == "application/json"
    # A tampered body, or another secret, does not verify.
    with pytest.raises(Exception, match="signature"):
        Webhook(hook["secret"]).verify(got.body.replace(b"tablet", b"laptop"), got.headers)

    listing = await hooks.get(
        f"{API}/webhooks/{hook['id']}/deliveries", headers=scene.admin.headers
    )
    assert listing.status_code == 200, listing.text
    [delivery] = listing.json()["items"]
    assert delivery["status"] == "delivered" and delivery["event_type"] == "device.registered"
    assert delivery["message_id"] == got.headers["webhook-id"]
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 200
    [attempt] = delivery["tries"]
    assert attempt["status_code"] == 200 and attempt["duration_ms"] >= 0
    assert "secret" not in (await hooks.get(f"{API}/webhooks", headers=scene.admin.headers)).text


async def test_nothing_is_sent_for_a_rolled_back_change(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await subscribe(hooks, scene.admin, target.url, ALL_DEVICE_EVENTS)
    device = await scene.device(tag)
    async with db.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "UPDATE devices SET status = 'in_repair', repair_return_status = 'in_stock'"
            " WHERE id = $1",
            device["id"],
        )
        await conn.execute(
            "INSERT INTO device_events (device_id, action, from_status, to_status)"
            " VALUES ($1, 'sent-to-repair', 'in_stock', 'in_repair')",
            device["id"],
        )
        # The outbox row and its job are there, inside the change's transaction...
        assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries") == 1
        assert await conn.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'webhooks.dispatch'"
        )
        await tx.rollback()
    # ... and gone with it.
    assert await db.fetchval("SELECT count(*) FROM webhook_messages") == 0
    assert (
        await db.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'webhooks.dispatch'"
        )
        == 0
    )
    await run_jobs(hook_settings)
    assert target.wait_for(1, 1.0) == []
    # A change that commits is sent.
    await scene.act(scene.officer, tag, "send-to-repair")
    await run_jobs(hook_settings)
    [got] = target.wait_for(1, 5.0)
    assert got.json()["type"] == "device.status_changed"
    [item] = got.json()["data"]["devices"]
    assert (item["asset_tag"], item["from_status"], item["status"], item["action"]) == (
        tag,
        "in_stock",
        "in_repair",
        "sent-to-repair",
    )


async def test_a_failed_delivery_is_retried_and_then_delivered(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    scene = await make_scene(client, db, factory)
    hook = await subscribe(hooks, scene.officer, target.url, ["device.registered"])
    target.answers = [500]
    [tag] = await scene.tablets(1)
    await run_jobs(hook_settings)
    [first] = target.wait_for(1, 5.0)
    row = await db.fetchrow("SELECT * FROM webhook_deliveries")
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("pending", 1, 500)
    assert row["retry_until"] > datetime.now(UTC) + timedelta(hours=23)
    assert await db.fetchval("SELECT failing_since FROM webhook_subscriptions") is not None
    await asyncio.sleep(2.2)  # the first retry waits one second here
    await run_jobs(hook_settings)
    _, second = target.wait_for(2, 5.0)
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert verified(hook["secret"], second)["data"]["devices"][0]["asset_tag"] == tag
    listing = await hooks.get(
        f"{API}/webhooks/{hook['id']}/deliveries", headers=scene.officer.headers
    )
    [delivery] = listing.json()["items"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert [t["status_code"] for t in delivery["tries"]] == [500, 200]
    assert delivery["tries"][0]["error"] == "HTTP 500"
    assert await db.fetchval("SELECT failing_since FROM webhook_subscriptions") is None

    # Redeliver: sent once more, under the same webhook-id.
    redo = await hooks.post(
        f"{API}/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver",
        headers=scene.officer.headers,
    )
    assert redo.status_code == 202, redo.text
    await run_jobs(hook_settings)
    third = target.wait_for(3, 5.0)[-1]
    assert third.headers["webhook-id"] == first.headers["webhook-id"]


async def test_a_webhook_failing_for_three_days_is_disabled_and_its_owner_told(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    scene = await make_scene(client, db, factory)
    hook = await subscribe(hooks, scene.officer, target.url, ["device.registered"])
    await db.execute(
        "UPDATE webhook_subscriptions SET failing_since = now() - interval '3 days 1 minute'"
    )
    target.answers = [503]
    await scene.tablets(1)
    await run_jobs(hook_settings)
    sub = await db.fetchrow("SELECT * FROM webhook_subscriptions WHERE id = $1", hook["id"])
    assert not sub["active"] and sub["disabled_at"] is not None
    assert await db.fetchval("SELECT status FROM webhook_deliveries") == "failed"
    mail = await db.fetchrow("SELECT * FROM mail_messages WHERE template = 'webhook_disabled'")
    assert mail["user_id"] == scene.officer.user_id
    # Nothing more is written for it, and it cannot be redelivered.
    await scene.tablets(1)
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 1
    shown = await hooks.get(f"{API}/webhooks/{hook['id']}", headers=scene.officer.headers)
    assert shown.json()["active"] is False


async def test_a_deactivated_officers_webhooks_stop_and_show_why(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    """An officer leaves: their URL stops receiving the province's events the moment the
    admin deactivates them; the province's other officer sees the webhook off, and why,
    and can make it again under their own name."""
    scene = await make_scene(client, db, factory)
    leaver = await factory.officer(DIEN_BIEN)
    hook = await subscribe(hooks, leaver, target.url, ["device.registered"])
    admins = await subscribe(hooks, scene.admin, target.url + "/admin", ["device.registered"])
    off = await client.patch(
        f"{API}/users/{leaver.user_id}", headers=scene.admin.headers, json={"active": False}
    )
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False

    await scene.tablets(2)  # the province's officer registers devices: device.registered
    await run_jobs(hook_settings)
    got = target.wait_for(2, 5.0)
    # Only the admin's own webhook was sent to; the leaver's got nothing, not even queued.
    assert [g.path for g in got] == ["/hooks/admin"]
    assert (
        await db.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1", hook["id"]
        )
        == 0
    )
    for caller in (scene.officer, scene.admin):
        listing = await hooks.get(f"{API}/webhooks", headers=caller.headers)
        assert listing.status_code == 200, listing.text
        shown = next(w for w in listing.json()["items"] if w["id"] == hook["id"])
        assert shown["active"] is False and shown["disabled_at"] is not None
        assert shown["disabled_reason"] == "owner_deactivated"
    assert (await hooks.get(f"{API}/webhooks/{admins['id']}", headers=scene.admin.headers)).json()[
        "disabled_reason"
    ] is None
    # Nothing turns it back on: the officer who stays makes it again, as theirs.
    again = await subscribe(hooks, scene.officer, target.url, ["device.registered"])
    maker = await db.fetchval(
        "SELECT created_by FROM webhook_subscriptions WHERE id = $1", again["id"]
    )
    assert maker == scene.officer.user_id
    await scene.tablets(1)
    await run_jobs(hook_settings)
    assert sorted(g.path for g in target.wait_for(3, 5.0)) == [
        "/hooks",
        "/hooks/admin",
        "/hooks/admin",
    ]


async def test_a_deactivated_owners_webhook_is_not_sent_even_if_left_on(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    """The disable step missed (here: the account switched off in the database, as a
    script might): the dispatch checks the owner as it sends, and turns the webhook off
    instead of sending."""
    scene = await make_scene(client, db, factory)
    leaver = await factory.officer(DIEN_BIEN)
    hook = await subscribe(hooks, leaver, target.url, ["device.registered"])
    await db.execute("UPDATE users SET active = false WHERE id = $1", leaver.user_id)
    await scene.tablets(1)
    assert await db.fetchval("SELECT status FROM webhook_deliveries") == "pending"
    await run_jobs(hook_settings)
    assert target.wait_for(1, 1.0) == []
    delivery = await db.fetchrow("SELECT status, attempts FROM webhook_deliveries")
    assert (delivery["status"], delivery["attempts"]) == ("failed", 0)
    assert await db.fetchval("SELECT count(*) FROM webhook_attempts") == 0
    shown = await hooks.get(f"{API}/webhooks/{hook['id']}", headers=scene.officer.headers)
    assert (shown.json()["active"], shown.json()["disabled_reason"]) == (
        False,
        "owner_deactivated",
    )


async def test_a_webhook_that_kept_failing_says_so(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    scene = await make_scene(client, db, factory)
    hook = await subscribe(hooks, scene.officer, target.url, ["device.registered"])
    await db.execute(
        "UPDATE webhook_subscriptions SET failing_since = now() - interval '3 days 1 minute'"
    )
    target.answers = [500]
    await scene.tablets(1)
    await run_jobs(hook_settings)
    shown = await hooks.get(f"{API}/webhooks/{hook['id']}", headers=scene.officer.headers)
    assert (shown.json()["active"], shown.json()["disabled_reason"]) == (False, "failing")


async def test_twenty_webhooks_each_even_when_created_all_at_once(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, hook_settings: Settings
) -> None:
    """25 creates at the same moment for one province: exactly 20 are made, the other 5
    are refused with a problem (409), none with a 500. Over real HTTP to uvicorn: the
    in-process test client hands the app one request at a time."""
    scene = await make_scene(client, db, factory)
    colleague = await factory.officer(DIEN_BIEN)
    with live_server(hook_settings) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:

            async def create(n: int, caller: Caller) -> httpx.Response:
                return await http.post(
                    f"{API}/webhooks",
                    headers=caller.headers,
                    json={"url": f"http://127.0.0.1:9/hooks/{n}", "events": ["device.registered"]},
                )

            # The province's, by two of its officers at once.
            answers = await asyncio.gather(
                *(create(n, scene.officer if n % 2 else colleague) for n in range(25))
            )
            theirs = await create(99, scene.officer_other)  # another owner counts its own
    assert sorted(a.status_code for a in answers) == [201] * 20 + [409] * 5, [
        (a.status_code, a.text[:200]) for a in answers
    ]
    for refused in (a for a in answers if a.status_code == 409):
        assert "20" in assert_problem(refused, 409)["detail"]
    assert (
        await db.fetchval(
            "SELECT count(*) FROM webhook_subscriptions WHERE province_code = $1", DIEN_BIEN
        )
        == 20
    )
    assert theirs.status_code == 201, theirs.text


async def _lent_scene(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> tuple[Scene, str, dict[str, Any]]:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student_id = await scene.consenting_student(full_name="Lò Thị Bí Mật", student_code="HS-77")
    return scene, tag, {"id": student_id, "name": "Lò Thị Bí Mật", "code": "HS-77"}


async def test_no_student_name_in_any_payload_and_donors_get_no_student_at_all(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
) -> None:
    scene, tag, student = await _lent_scene(client, db, factory)
    with receiver() as admin_r, receiver() as officer_r, receiver() as donor_r:
        events = ["device.assigned", "device.returned"]
        await subscribe(hooks, scene.admin, admin_r.url, events)
        await subscribe(hooks, scene.officer, officer_r.url, events)
        await subscribe(hooks, scene.donor, donor_r.url, events)
        loan = await scene.lend(tag, student["id"])
        returned = await client.post(
            f"{API}/assignments/{loan['id']}/return",
            headers=scene.staff_a.headers,
            json={"condition_in": "good", "wiped": True},
        )
        assert returned.status_code == 200, returned.text
        await run_jobs(hook_settings)
        got = {
            name: r.wait_for(2, 5.0)
            for name, r in (("admin", admin_r), ("officer", officer_r), ("donor", donor_r))
        }
    for name, deliveries in got.items():
        # Sent at once: the order they arrive in is not promised.
        types = sorted(d.json()["type"] for d in deliveries)
        assert types == ["device.assigned", "device.returned"]
        for d in deliveries:
            assert student["name"].encode() not in d.body
            assert "Lò".encode() not in d.body and "full_name" not in d.json()["data"]["devices"][0]
            [item] = d.json()["data"]["devices"]
            assert item["asset_tag"] == tag and item["school_id"] == scene.school_a
            if name == "donor":
                assert b"student" not in d.body and b"HS-77" not in d.body
            else:
                assert item["student_code"] == student["code"]


async def test_each_owner_receives_only_its_scope(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
) -> None:
    scene = await make_scene(client, db, factory)
    other_donor = await factory.donor("Another foundation")
    other_donor_user = await factory.donor_user(other_donor)
    events = ["device.registered", "donation.created"]
    with (
        receiver() as officer_r,
        receiver() as far_officer_r,
        receiver() as donor_r,
        receiver() as other_donor_r,
    ):
        await subscribe(hooks, scene.officer, officer_r.url, events)
        await subscribe(hooks, scene.officer_other, far_officer_r.url, events)
        await subscribe(hooks, scene.donor, donor_r.url, events)
        await subscribe(hooks, other_donor_user, other_donor_r.url, events)
        await scene.tablets(3)
        donation = await client.post(
            f"{API}/donations",
            headers=scene.officer.headers,
            json={
                "donor_id": scene.donor_id,
                "province_code": "11",
                "reference": "HOOK-2026-1",
                "pledged": [{"kind": "laptop", "quantity": 5}],
            },
        )
        assert donation.status_code == 201, donation.text
        await run_jobs(hook_settings)
        assert sorted(d.json()["type"] for d in officer_r.wait_for(2, 5.0)) == events
        donor_got = donor_r.wait_for(2, 5.0)
        assert sorted(d.json()["type"] for d in donor_got) == events
        created = next(d.json() for d in donor_got if d.json()["type"] == "donation.created")
        assert created["data"]["reference"] == "HOOK-2026-1"
        assert created["data"]["pledged"] == [{"kind": "laptop", "quantity": 5, "model": None}]
        assert far_officer_r.wait_for(1, 0.5) == [] and other_donor_r.wait_for(1, 0.1) == []


async def test_who_may_hold_read_and_delete_a_webhook(
    client: AsyncTestClient, hooks: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    url = "http://127.0.0.1:9/hooks"
    refused = await hooks.post(
        f"{API}/webhooks",
        headers=scene.staff_a.headers,
        json={"url": url, "events": ["device.received"]},
    )
    assert_problem(refused, 403)
    mine = await subscribe(hooks, scene.officer, url, ["device.registered"])
    assert (mine["province_code"], mine["donor_id"]) == ("11", None)
    theirs = await subscribe(hooks, scene.officer_other, url, ["device.registered"])
    assert theirs["province_code"] == LAI_CHAU
    donors = await subscribe(hooks, scene.donor, url, ["device.registered", "sim.expiring"])
    assert (donors["province_code"], donors["donor_id"]) == (None, scene.donor_id)
    admins = await subscribe(hooks, scene.admin, url, ["audit.closed"])
    assert (admins["province_code"], admins["donor_id"]) == (None, None)
    # A donor's webhook never receives an audit.
    audit = await hooks.post(
        f"{API}/webhooks",
        headers=scene.donor.headers,
        json={"url": url, "events": ["audit.closed"]},
    )
    assert assert_problem(audit, 422)["errors"][0]["field"] == "events"

    async def ids(caller: Caller) -> list[int]:
        listing = await hooks.get(f"{API}/webhooks", headers=caller.headers)
        assert listing.status_code == 200, listing.text
        assert "whsec_" not in listing.text
        return [w["id"] for w in listing.json()["items"]]

    assert await ids(scene.officer) == [mine["id"]]
    assert await ids(scene.officer_other) == [theirs["id"]]
    assert await ids(scene.donor) == [donors["id"]]
    assert await ids(scene.admin) == [mine["id"], theirs["id"], donors["id"], admins["id"]]
    assert_problem(await hooks.get(f"{API}/webhooks", headers=scene.staff_a.headers), 403)
    for caller, other in (
        (scene.officer, theirs),
        (scene.officer_other, mine),
        (scene.donor, mine),
        (scene.officer, donors),
        (scene.officer, admins),
    ):
        wid = other["id"]
        for method, path in (
            ("GET", f"{API}/webhooks/{wid}"),
            ("GET", f"{API}/webhooks/{wid}/deliveries"),
            ("POST", f"{API}/webhooks/{wid}/deliveries/1/redeliver"),
            ("DELETE", f"{API}/webhooks/{wid}"),
        ):
            answer = await hooks.request(method, path, headers=caller.headers)
            assert_problem(answer, 404)
    assert (
        await hooks.get(f"{API}/webhooks/{mine['id']}", headers=scene.admin.headers)
    ).status_code == 200
    gone = await hooks.delete(f"{API}/webhooks/{mine['id']}", headers=scene.officer.headers)
    assert gone.status_code == 204, gone.text
    assert await ids(scene.officer) == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8000/hooks", "private"),
        ("http://localhost/hooks", "private"),
        ("http://10.1.2.3/hooks", "private"),
        ("http://192.168.1.20/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data", "private"),
        ("http://[::1]/hooks", "private"),
        ("http://[::ffff:127.0.0.1]/hooks", "private"),
        ("ftp://example.org/hooks", "http"),
        ("file:///etc/passwd", "http"),
        ("http://user:pw@example.org/hooks", "password"),
        ("not a url", "http"),
    ],
)
async def test_a_private_or_odd_url_is_refused_without_the_flag(
    client: AsyncTestClient, factory: Factory, url: str, why: str
) -> None:
    admin = await factory.admin()
    answer = await client.post(
        f"{API}/webhooks", headers=admin.headers, json={"url": url, "events": ["device.registered"]}
    )
    [error] = assert_problem(answer, 422)["errors"]
    assert error["field"] == "url" and why in error["message"], error


async def test_the_flag_allows_private_targets_but_never_other_schemes(
    hooks: AsyncTestClient, factory: Factory
) -> None:
    admin = await factory.admin()
    answer = await hooks.post(
        f"{API}/webhooks",
        headers=admin.headers,
        json={"url": "gopher://127.0.0.1/x", "events": ["device.registered"]},
    )
    assert assert_problem(answer, 422)["errors"][0]["field"] == "url"
    unknown = await hooks.post(
        f"{API}/webhooks",
        headers=admin.headers,
        json={"url": "http://127.0.0.1/x", "events": ["device.exploded"]},
    )
    assert_problem(unknown, 400 if unknown.status_code == 400 else 422)


async def test_a_bulk_intake_is_a_few_messages_not_one_per_device(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    scene = await make_scene(client, db, factory)
    hook = await subscribe(hooks, scene.admin, target.url, ["device.registered"])
    tags = await scene.tablets(1200)
    # Blocks of 500 event ids: 1–499, 500–999, 1000–1200.
    assert await db.fetchval("SELECT count(*) FROM webhook_messages") == 3
    await run_jobs(hook_settings)
    got = target.wait_for(3, 10.0)
    sent = [verified(hook["secret"], g) for g in got]
    assert sorted(b["data"]["count"] for b in sent) == [201, 499, 500]
    assert sorted(d["asset_tag"] for b in sent for d in b["data"]["devices"]) == sorted(tags)


async def test_sim_expiring_is_sent_once_a_day_and_audit_closed_with_counts(
    client: AsyncTestClient,
    hooks: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    hook_settings: Settings,
    target: Receiver,
) -> None:
    scene = await make_scene(client, db, factory)
    await subscribe(hooks, scene.officer, target.url, ["sim.expiring", "audit.closed"])
    soon = (date.today() + timedelta(days=7)).isoformat()
    later = (date.today() + timedelta(days=9)).isoformat()
    sims = await scene.intake(
        {"kind": "sim", "iccid": "8984000000000000011", "plan_expires_on": soon},
        {"kind": "sim", "iccid": "8984000000000000029", "plan_expires_on": later},
    )
    runtime = Runtime(settings=hook_settings)
    when = datetime.combine(date.today(), datetime.min.time(), UTC) + timedelta(hours=3)
    first = await run_now(runtime, "webhooks.sim_expiring", when)
    again = await run_now(runtime, "webhooks.sim_expiring", when)
    assert first.done and not again.done, (first, again)
    await run_jobs(hook_settings)
    [got] = target.wait_for(1, 5.0)
    body = got.json()
    assert body["type"] == "sim.expiring" and body["data"]["count"] == 1
    [sim] = body["data"]["sims"]
    assert sim["asset_tag"] == sims[0] and sim["days_left"] == 7

    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    audit = await client.post(
        f"{API}/audits", headers=scene.staff_a.headers, json={"school_id": scene.school_a}
    )
    assert audit.status_code == 201, audit.text
    audit_id = audit.json()["id"]
    scan = await client.post(
        f"{API}/audits/{audit_id}/scans",
        headers=scene.staff_a.headers,
        json={"scans": [{"code": tag, "condition": "good"}]},
    )
    assert scan.status_code in (200, 201), scan.text
    closed = await client.post(f"{API}/audits/{audit_id}/close", headers=scene.staff_a.headers)
    assert closed.status_code == 200, closed.text
    await run_jobs(hook_settings)
    audit_body = target.wait_for(2, 5.0)[-1].json()
    assert audit_body["type"] == "audit.closed"
    data = audit_body["data"]
    assert data["id"] == audit_id and data["school"]["id"] == scene.school_a
    assert (data["found"], data["missing"], data["unexpected"]) == (1, 0, 0)


def test_payload_json_is_stable(hook_settings: Settings) -> None:
    from devicetrack.webhooks.payloads import body

    created = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    made = body("device.assigned", created, {"devices": [{"student_code": "HS-1"}]}, for_donor=True)
    assert json.loads(made) == {
        "type": "device.assigned",
        "timestamp": "2026-12-01T08:00:00Z",
        "data": {"devices": [{}]},
    }


def test_retries_wait_longer_each_time_and_stop_after_a_day(settings: Settings) -> None:
    from devicetrack.webhooks.delivery import next_wait

    runtime = Runtime(settings=settings)
    waits = [next_wait(runtime, n) for n in range(10)]
    assert waits[:5] == [timedelta(seconds=s) for s in (10, 50, 250, 1250, 6250)]
    assert max(waits) == timedelta(hours=8)
    # The tries a delivery that never succeeds gets in its 24 hours (the last at the end).
    spent, tries = timedelta(0), 1
    while spent + waits[tries - 1] < timedelta(hours=24):
        spent += waits[tries - 1]
        tries += 1
    assert tries + 1 == 9, tries


async def test_old_messages_are_purged_with_their_deliveries(
    db: asyncpg.Pool, hook_settings: Settings
) -> None:
    sub = await db.fetchval(
        "INSERT INTO webhook_subscriptions (url, events, secret)"
        " VALUES ('http://127.0.0.1:9/x', ARRAY['device.registered'], 'whsec_eA==') RETURNING id"
    )
    for age in ("31 days", "29 days"):
        message = await db.fetchval(
            "INSERT INTO webhook_messages (event_type, data, created_at)"
            f" VALUES ('device.registered', '{{}}', now() - interval '{age}') RETURNING id"
        )
        await db.execute(
            "INSERT INTO webhook_deliveries (message_id, subscription_id, status)"
            " VALUES ($1, $2, 'delivered')",
            message,
            sub,
        )
    outcome = await run_now(Runtime(settings=hook_settings), "webhooks.purge")
    assert outcome.done and outcome.summary.startswith("1 webhook messages")
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 1

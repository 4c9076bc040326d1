"""Allocating province stock to schools (POST /allocations by tags, or by kind and
quantity, oldest received first, all or nothing), school quotas, and receipt at the
school (POST /schools/{id}/receipts)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.factories import DIEN_BIEN, assert_problem
from tests.lifecycle_helpers import (
    API,
    Scene,
    concurrently,
    in_background,
    lock_waiters,
    make_scene,
    overlapped,
)


async def _state(scene: Scene) -> list[tuple]:
    """Everything an allocation may change: devices, allocations, history."""
    devices = await scene.db.fetch("SELECT asset_tag, status, school_id FROM devices ORDER BY id")
    counts = await scene.db.fetchrow(
        """SELECT (SELECT count(*) FROM allocations) AS allocations,
                  (SELECT count(*) FROM allocation_devices) AS allocated,
                  (SELECT count(*) FROM device_events) AS events"""
    )
    return [tuple(r) for r in devices] + [tuple(counts)]


async def _allocate(scene: Scene, caller=None, **body):
    return await scene.client.post(
        f"{API}/allocations", headers=(caller or scene.officer).headers, json=body
    )


async def test_allocate_by_tags_then_receive_some(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(3)
    response = await _allocate(
        scene, school_id=scene.school_a, asset_tags=[t.lower() for t in tags], note="đợt 1"
    )
    assert response.status_code == 201, response.text
    allocation = response.json()
    assert allocation["school_id"] == scene.school_a
    assert (allocation["quantity"], allocation["received"], allocation["note"]) == (3, 0, "đợt 1")
    assert [(d["asset_tag"], d["status"], d["received"]) for d in allocation["devices"]] == [
        (t, "allocated", False) for t in tags
    ]
    rows = await db.fetch(
        """SELECT d.asset_tag, d.status, d.school_id FROM allocation_devices ad
             JOIN devices d ON d.id = ad.device_id WHERE ad.allocation_id = $1 ORDER BY d.id""",
        allocation["id"],
    )
    assert [tuple(r) for r in rows] == [(t, "allocated", scene.school_a) for t in tags]
    for tag in tags:
        assert [e["action"] for e in await scene.events(tag)] == ["registered", "allocated"]

    await scene.receive(tags[:2])
    read = await client.get(f"{API}/allocations/{allocation['id']}", headers=scene.staff_a.headers)
    assert read.status_code == 200, read.text
    assert read.json()["received"] == 2
    assert [(d["status"], d["received"]) for d in read.json()["devices"]] == [
        ("at_school", True),
        ("at_school", True),
        ("allocated", False),
    ]
    listed = await client.get(
        f"{API}/allocations", params={"school": scene.school_a}, headers=scene.officer.headers
    )
    assert [(a["id"], a["quantity"], a["received"]) for a in listed.json()["items"]] == [
        (allocation["id"], 3, 2)
    ]
    # Other schools' staff, other provinces and donors do not see it.
    for caller in (scene.staff_b, scene.officer_other, scene.donor):
        assert_problem(
            await client.get(f"{API}/allocations/{allocation['id']}", headers=caller.headers), 404
        )
        listed = await client.get(f"{API}/allocations", headers=caller.headers)
        assert listed.status_code == 200 and listed.json()["items"] == []


async def test_allocate_by_kind_takes_the_oldest_received_first(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    newer = await scene.tablets(3)
    older = await scene.tablets(3)
    await scene.intake({"kind": "laptop", "serial": "L-1"}, {"kind": "laptop", "serial": "L-2"})
    # The second batch arrived earlier, though registered later.
    await db.execute(
        "UPDATE devices SET received_at = $1 WHERE asset_tag = ANY($2::text[])",
        datetime.now(UTC) - timedelta(days=30),
        older,
    )
    response = await _allocate(scene, school_id=scene.school_a, kind="tablet", quantity=4)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kind"], body["quantity"]) == ("tablet", 4)
    assert [d["asset_tag"] for d in body["devices"]] == sorted([*older, newer[0]])
    statuses = dict(await db.fetch("SELECT asset_tag, status FROM devices WHERE kind = 'tablet'"))
    assert [statuses[t] for t in older + newer] == ["allocated"] * 4 + ["in_stock"] * 2

    # From one donation only, even when the province holds older stock elsewhere.
    other = await client.post(
        f"{API}/donations",
        headers=scene.officer.headers,
        json={"donor_id": scene.donor_id, "province_code": "11", "reference": "LC-2"},
    )
    donation = other.json()["id"]
    from_donation = await scene.intake(
        {"kind": "tablet", "serial": "D2-1"},
        {"kind": "tablet", "serial": "D2-2"},
        donation_id=donation,
    )
    response = await _allocate(
        scene, school_id=scene.school_b, kind="tablet", quantity=2, donation_id=donation
    )
    assert response.status_code == 201, response.text
    assert sorted(d["asset_tag"] for d in response.json()["devices"]) == sorted(from_donation)
    assert response.json()["donation_id"] == donation
    assert [(await scene.device(t))["status"] for t in newer[1:]] == ["in_stock"] * 2


async def test_an_allocation_is_all_or_nothing(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    free = await scene.tablets(3)
    (elsewhere,) = await scene.tablets(1)
    await scene.allocate([elsewhere], scene.school_b)
    before = await _state(scene)

    body = assert_problem(
        await _allocate(scene, school_id=scene.school_a, asset_tags=[*free, elsewhere]), 409
    )
    assert body["problems"] == [f"{elsewhere}: allocated"]
    wrong = free[0][:-1] + str((int(free[0][-1]) + 1) % 10)
    body = assert_problem(
        await _allocate(scene, school_id=scene.school_a, asset_tags=[free[1], wrong]), 422
    )
    assert body["errors"][0]["field"] == "asset_tags[1]"
    assert_problem(
        await _allocate(scene, school_id=scene.school_a, asset_tags=[free[1], free[1]]), 422
    )
    body = assert_problem(
        await _allocate(scene, school_id=scene.school_a, kind="tablet", quantity=4), 409
    )
    assert body["available"] == 3
    assert_problem(
        await _allocate(scene, school_id=scene.school_a, asset_tags=free, kind="tablet"), 422
    )
    assert_problem(await _allocate(scene, school_id=scene.school_a), 422)
    assert_problem(await _allocate(scene, school_id=scene.school_a, kind="tablet"), 422)
    assert await _state(scene) == before


async def test_only_the_province_officer_allocates(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    before = await _state(scene)
    for caller, status in (
        (scene.staff_a, 403),
        (scene.officer_other, 404),
        (scene.donor, 404),
        (scene.staff_c, 404),
    ):
        response = await _allocate(scene, caller, school_id=scene.school_a, asset_tags=tags)
        assert_problem(response, status)
        response = await _allocate(
            scene, caller, school_id=scene.school_a, kind="tablet", quantity=1
        )
        assert_problem(response, status)
    # Lai Châu's officer cannot take Điện Biên's stock for a Lai Châu school either.
    response = await _allocate(
        scene, scene.officer_other, school_id=scene.school_c, asset_tags=tags
    )
    assert_problem(response, 409)
    response = await _allocate(
        scene, scene.officer_other, school_id=scene.school_c, kind="tablet", quantity=1
    )
    assert_problem(response, 409)
    assert await _state(scene) == before
    response = await _allocate(scene, scene.admin, school_id=scene.school_a, asset_tags=tags)
    assert response.status_code == 201, response.text


async def test_quotas_refuse_over_allocation_unless_overridden(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(5)
    url = f"{API}/schools/{scene.school_a}/quotas"
    response = await client.put(
        url, headers=scene.officer.headers, json={"kind": "tablet", "quantity": 2}
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [
        {"kind": "tablet", "quantity": 2, "donation_id": None, "held": 0}
    ]
    ok = await _allocate(scene, school_id=scene.school_a, kind="tablet", quantity=2)
    assert ok.status_code == 201, ok.text
    before = await _state(scene)
    body = assert_problem(
        await _allocate(scene, school_id=scene.school_a, kind="tablet", quantity=1), 409
    )
    assert body["over_quota"] == ["tablet: holds 2, quota 2, adding 1"]
    assert await _state(scene) == before
    over = await _allocate(
        scene, school_id=scene.school_a, kind="tablet", quantity=1, override=True
    )
    assert over.status_code == 201, over.text
    assert over.json()["override"] is True
    assert await db.fetchval("SELECT override FROM allocations WHERE id = $1", over.json()["id"])
    # Another school has no quota; the quota counts this school's holdings only.
    other = await _allocate(scene, school_id=scene.school_b, kind="tablet", quantity=1)
    assert other.status_code == 201, other.text
    held = await client.get(url, headers=scene.staff_a.headers)
    assert held.json()["items"] == [
        {"kind": "tablet", "quantity": 2, "donation_id": None, "held": 3}
    ]
    # Changing the quota replaces it.
    response = await client.put(
        url, headers=scene.officer.headers, json={"kind": "tablet", "quantity": 10}
    )
    assert response.json()["items"] == [
        {"kind": "tablet", "quantity": 10, "donation_id": None, "held": 3}
    ]
    assert await db.fetchval("SELECT count(*) FROM school_quotas") == 1
    # Staff read their school's quotas but do not set them; others do not see them.
    assert_problem(
        await client.put(
            url, headers=scene.staff_a.headers, json={"kind": "tablet", "quantity": 99}
        ),
        403,
    )
    for caller in (scene.officer_other, scene.staff_b, scene.donor):
        assert_problem(await client.get(url, headers=caller.headers), 404)
        assert_problem(
            await client.put(url, headers=caller.headers, json={"kind": "tablet", "quantity": 99}),
            404,
        )
    assert await db.fetchval("SELECT quantity FROM school_quotas") == 10


async def test_two_concurrent_allocations_never_share_a_device(client, db, factory) -> None:
    """Two allocations of 60 tablets from a stock of 100, at the same time: one gets 60,
    the other is refused, and no device is in both. Run a few rounds."""
    scene = await make_scene(client, db, factory)
    stock = 0
    for round_ in range(3):
        await scene.tablets(100 - stock, prefix=f"R{round_}-")
        stock = 100
        body = {"kind": "tablet", "quantity": 60}
        results = await concurrently(
            client,
            [
                ("POST", f"{API}/allocations", scene.officer, body | {"school_id": scene.school_a}),
                ("POST", f"{API}/allocations", scene.officer, body | {"school_id": scene.school_b}),
            ],
        )
        assert overlapped(results)
        codes = sorted(r.response.status_code for r in results)
        assert codes == [201, 409], [r.response.text for r in results]
        refused = next(r.response for r in results if r.response.status_code == 409)
        assert_problem(refused, 409)
        winner = next(r.response.json() for r in results if r.response.status_code == 201)
        stock -= 60
        counts = await db.fetchrow(
            """SELECT count(*) FILTER (WHERE status = 'allocated') AS allocated,
                      count(*) FILTER (WHERE status = 'in_stock') AS in_stock
                 FROM devices WHERE kind = 'tablet'"""
        )
        assert (counts["allocated"], counts["in_stock"]) == (60 * (round_ + 1), stock)
        assert await db.fetchval("SELECT count(*) FROM allocations") == round_ + 1
        assert (
            await db.fetchval(
                "SELECT count(*) FROM allocation_devices WHERE allocation_id = $1", winner["id"]
            )
            == 60
        )
        # No device twice, and one allocation event per allocated device.
        assert await db.fetchval(
            "SELECT count(DISTINCT device_id) = count(*) FROM allocation_devices"
        )
        assert await db.fetchval(
            "SELECT count(*) FROM device_events WHERE action = 'allocated'"
        ) == 60 * (round_ + 1)
        # Each school holds what its allocations say.
        mismatched = await db.fetchval(
            """SELECT count(*) FROM allocation_devices ad
                 JOIN allocations a ON a.id = ad.allocation_id
                 JOIN devices d ON d.id = ad.device_id
                WHERE d.school_id IS DISTINCT FROM a.school_id"""
        )
        assert mismatched == 0


async def test_concurrent_allocations_of_the_same_tags(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(20)
    results = await concurrently(
        client,
        [
            ("POST", f"{API}/allocations", scene.officer, {"school_id": s, "asset_tags": t})
            for s, t in ((scene.school_a, tags), (scene.school_b, list(reversed(tags))))
        ],
    )
    assert sorted(r.response.status_code for r in results) == [201, 409], [
        r.response.text for r in results
    ]
    winner = next(r.response.json() for r in results if r.response.status_code == 201)
    held = await db.fetch("SELECT DISTINCT school_id FROM devices")
    assert [r["school_id"] for r in held] == [winner["school_id"]]
    assert await db.fetchval("SELECT count(*) FROM allocation_devices") == 20


async def test_receipt_receives_only_what_was_allocated_to_the_school(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    mine1, mine2, theirs, stock, here = await scene.tablets(5)
    await scene.allocate([mine1, mine2, here])
    await scene.allocate([theirs], scene.school_b)
    await scene.receive([here])
    wrong = stock[:-1] + str((int(stock[-1]) + 1) % 10)
    untouched = [theirs, stock, here]
    before = {t: (await scene.device(t), len(await scene.events(t))) for t in untouched}

    response = await client.post(
        f"{API}/schools/{scene.school_a}/receipts",
        headers=scene.staff_a.headers,
        json={"asset_tags": [mine1, theirs, stock, here, wrong, "hello", mine2.lower(), mine1]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["received"] == [mine1, mine2]
    reasons = {d["asset_tag"]: d["reason"] for d in body["discrepancies"]}
    assert reasons[theirs] == "not allocated to this school"
    assert reasons[stock] == "not allocated to this school"
    assert reasons[here] == "already at_school here"
    assert "did you mean" in reasons[wrong]
    assert reasons["hello"] == "not an asset tag"
    assert len(body["discrepancies"]) == 6  # mine1 scanned twice is one of them
    assert [d["asset_tag"] for d in body["discrepancies"]].count(mine1) == 1
    for tag in (mine1, mine2):
        device = await scene.device(tag)
        assert (device["status"], device["school_id"]) == ("at_school", scene.school_a)
        last = (await scene.events(tag))[-1]
        assert (last["action"], last["actor_id"]) == ("received", scene.staff_a.user_id)
    for tag, (device, events) in before.items():
        assert await scene.device(tag) == device
        assert len(await scene.events(tag)) == events


async def test_only_the_school_receives(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.allocate([tag])
    url = f"{API}/schools/{scene.school_a}/receipts"
    for caller, status in (
        (scene.officer, 403),
        (scene.staff_b, 404),
        (scene.officer_other, 404),
        (scene.donor, 404),
    ):
        response = await client.post(url, headers=caller.headers, json={"asset_tags": [tag]})
        assert_problem(response, status)
    # Staff of B scanning the tag at their own school: a discrepancy, nothing received.
    response = await client.post(
        f"{API}/schools/{scene.school_b}/receipts",
        headers=scene.staff_b.headers,
        json={"asset_tags": [tag]},
    )
    assert response.json() == {
        "received": [],
        "discrepancies": [{"asset_tag": tag, "reason": "not allocated to this school"}],
    }
    assert (await scene.device(tag))["status"] == "allocated"
    assert len(await scene.events(tag)) == 2


async def _until(check, what: str, seconds: float = 10.0):
    for _ in range(int(seconds / 0.02)):
        if result := await check():
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_stock_held_by_an_allocation_that_fails_is_not_lost(client, db, factory) -> None:
    """A second allocation by kind waits for the one in progress instead of skipping the
    devices it holds, so when the first fails the second still gets its 60 of 100.
    (The first is held up by a lock on its school row, then cancelled.)"""
    scene = await make_scene(client, db, factory)
    await scene.tablets(100)
    school_d = await factory.school(DIEN_BIEN)
    body = {"kind": "tablet", "quantity": 60}
    async with db.acquire() as blocker:
        hold = blocker.transaction()
        await hold.start()
        try:
            await blocker.execute("SELECT id FROM schools WHERE id = $1 FOR UPDATE", school_d)
            first = in_background(
                client, "POST", f"{API}/allocations", scene.officer, body | {"school_id": school_d}
            )
            (first_pid,) = await _until(lambda: lock_waiters(db), "the first allocation to wait")
            second = in_background(
                client,
                "POST",
                f"{API}/allocations",
                scene.officer,
                body | {"school_id": scene.school_b},
            )

            async def second_waits_or_ends() -> bool:
                return second.done() or bool(await lock_waiters(db, "advisory"))

            await _until(second_waits_or_ends, "the second allocation to wait or end")
            assert await db.fetchval("SELECT pg_cancel_backend($1)", first_pid)
            failed = await first
        finally:
            await hold.rollback()
    assert failed.status_code >= 500, failed.text
    won = await second
    assert won.status_code == 201, won.text
    assert won.json()["school_id"] == scene.school_b and len(won.json()["devices"]) == 60
    counts = dict(await db.fetch("SELECT coalesce(school_id, 0), count(*) FROM devices GROUP BY 1"))
    assert counts == {scene.school_b: 60, 0: 40}
    assert await db.fetchval("SELECT count(*) FROM allocations") == 1

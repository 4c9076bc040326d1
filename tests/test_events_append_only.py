"""SPEC §2 Event and §3: every device's history is append-only (the database refuses
UPDATE, DELETE and TRUNCATE), each status change writes its event in the same transaction
as the change, and GET /devices/{tag}/events lists it oldest first with actor and data."""

from __future__ import annotations

import asyncpg
import pytest

from tests.factories import assert_problem
from tests.lifecycle_helpers import API, make_scene


async def test_the_database_refuses_to_change_or_remove_history(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.allocate([tag])
    before = await scene.events(tag)
    assert [e["action"] for e in before] == ["registered", "allocated"]
    first = before[0]["id"]
    for sql in (
        "UPDATE device_events SET note = 'rewritten' WHERE id = $1",
        "UPDATE device_events SET to_status = 'retired' WHERE id = $1",
        "DELETE FROM device_events WHERE id = $1",
    ):
        with pytest.raises(asyncpg.PostgresError) as refused:
            await db.execute(sql, first)
        assert "append-only" in str(refused.value)
        assert isinstance(refused.value, asyncpg.InsufficientPrivilegeError)
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await db.execute("DELETE FROM device_events")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await db.execute("TRUNCATE device_events CASCADE")
    # Deleting the device would orphan its history: refused as well.
    with pytest.raises(asyncpg.PostgresError):
        await db.execute("DELETE FROM devices WHERE asset_tag = $1", tag)
    assert await scene.events(tag) == before


async def test_events_are_listed_oldest_first_with_actor_and_data(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    await scene.act(scene.staff_a, tag, "send-to-repair", note="màn hình vỡ", condition="broken")
    await scene.act(scene.officer, tag, "back-from-repair", condition="good")
    await scene.act(scene.officer, tag, "transfer", school_id=scene.school_b)
    names = dict(
        await db.fetch(
            "SELECT id, full_name FROM users WHERE id = ANY($1::int[])",
            [scene.officer.user_id, scene.staff_a.user_id, scene.staff_b.user_id],
        )
    )
    expected = [
        ("registered", None, "in_stock", scene.officer.user_id),
        ("allocated", "in_stock", "allocated", scene.officer.user_id),
        ("received", "allocated", "at_school", scene.staff_a.user_id),
        ("sent-to-repair", "at_school", "in_repair", scene.staff_a.user_id),
        ("back-from-repair", "in_repair", "at_school", scene.officer.user_id),
        ("transferred", "at_school", "allocated", scene.officer.user_id),
    ]
    response = await client.get(f"{API}/devices/{tag}/events", headers=scene.officer.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(e["action"], e["from_status"], e["to_status"], e["actor_id"]) for e in items] == (
        expected
    )
    assert [e["actor_name"] for e in items] == [names[a] for *_, a in expected]
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)
    assert [e["at"] for e in items] == sorted(e["at"] for e in items)
    repair = items[3]
    assert (repair["note"], repair["condition"], repair["school_id"]) == (
        "màn hình vỡ",
        "broken",
        scene.school_a,
    )
    assert items[5]["data"] == {"from_school": scene.school_a}
    assert items[5]["school_id"] == scene.school_b
    # The same list one page at a time.
    pages, cursor = [], None
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get(
                f"{API}/devices/{tag}/events", params=params, headers=scene.admin.headers
            )
        ).json()
        pages += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [e["id"] for e in pages] == [e["id"] for e in items]
    # Out of scope: the history is as hidden as the device.
    for caller in (scene.staff_a, scene.officer_other):
        assert_problem(await client.get(f"{API}/devices/{tag}/events", headers=caller.headers), 404)


async def test_every_status_change_writes_exactly_one_event(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(3)
    allocation = await scene.allocate(tags)
    assert len(allocation["devices"]) == 3
    await scene.receive(tags[:2])
    student = await scene.consenting_student()
    loan = await scene.lend(tags[0], student)
    await client.post(
        f"{API}/assignments/{loan['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "fair", "wiped": False},
    )
    await scene.act(scene.staff_a, tags[0], "wipe")
    await scene.act(scene.officer, tags[2], "report-lost")
    changes = await db.fetch(
        """SELECT d.asset_tag, count(*) FILTER (WHERE e.from_status IS DISTINCT FROM e.to_status)
                  AS changes, array_agg(e.action ORDER BY e.id) AS actions
             FROM devices d JOIN device_events e ON e.device_id = d.id
            GROUP BY d.asset_tag"""
    )
    by_tag = {r["asset_tag"]: (r["changes"], r["actions"]) for r in changes}
    assert by_tag[tags[0]] == (
        5,
        ["registered", "allocated", "received", "assigned", "returned", "wiped"],
    )
    assert by_tag[tags[1]] == (3, ["registered", "allocated", "received"])
    assert by_tag[tags[2]] == (3, ["registered", "allocated", "reported-lost"])
    # The last event's to_status is always the device's status.
    mismatched = await db.fetchval(
        """SELECT count(*) FROM devices d
            WHERE d.status <> (SELECT e.to_status FROM device_events e
                                WHERE e.device_id = d.id ORDER BY e.id DESC LIMIT 1)"""
    )
    assert mismatched == 0


async def test_status_change_and_event_commit_together(client, db, factory) -> None:
    """When writing the event fails, the status change is rolled back with it: one
    transaction. (A test-only trigger makes the event insert fail.)"""
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    before = await scene.device(tag)
    events = await scene.events(tag)
    await db.execute(
        """CREATE FUNCTION test_refuse_repair_event() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF NEW.action = 'sent-to-repair' THEN
               RAISE EXCEPTION 'test: event refused';
             END IF;
             RETURN NEW;
           END $$"""
    )
    try:
        await db.execute(
            "CREATE TRIGGER test_refuse_repair_event BEFORE INSERT ON device_events "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_repair_event()"
        )
        response = await scene.act(scene.staff_a, tag, "send-to-repair", expect=None)
        body = assert_problem(response, 500)
        assert "test: event refused" not in response.text and "INSERT" not in body["detail"]
    finally:
        await db.execute("DROP TRIGGER IF EXISTS test_refuse_repair_event ON device_events")
        await db.execute("DROP FUNCTION IF EXISTS test_refuse_repair_event()")
    after = await scene.device(tag)
    assert (after["status"], after["repair_return_status"]) == ("at_school", None)
    assert after["updated_at"] == before["updated_at"]
    assert await scene.events(tag) == events
    # Without the fault the same request goes through, with its event.
    await scene.act(scene.staff_a, tag, "send-to-repair")
    assert (await scene.device(tag))["status"] == "in_repair"
    assert [e["action"] for e in await scene.events(tag)][-1] == "sent-to-repair"


async def test_a_refused_request_leaves_no_event(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    free, taken = await scene.tablets(2)
    await scene.allocate([taken], scene.school_b)
    response = await client.post(
        f"{API}/allocations",
        headers=scene.officer.headers,
        json={"school_id": scene.school_a, "asset_tags": [free, taken]},
    )
    body = assert_problem(response, 409)
    assert any(taken in p for p in body["problems"])
    assert [e["action"] for e in await scene.events(free)] == ["registered"]
    assert (await scene.device(free))["status"] == "in_stock"
    assert await db.fetchval("SELECT count(*) FROM allocations") == 1


async def test_an_erased_students_notes_are_never_shown_and_history_stays(
    client, db, factory
) -> None:
    """Staff may write a student's name into a loan's note. Erasing the student clears the
    loans' notes; the events keep theirs (history is never changed: the guard still refuses),
    but no reader is shown them any more, not even the school or an admin."""
    scene = await make_scene(client, db, factory)
    (tag,) = tags = await scene.tablets(1)
    await scene.at_school(tags)
    student = await scene.student(full_name="Lò Văn Erasable")
    await scene.consent(student["id"])
    loan = await scene.lend(tag, student["id"], note="cho em Erasable mượn")

    async def shown_notes(caller) -> list[str | None]:
        response = await client.get(f"{API}/devices/{tag}/events", headers=caller.headers)
        assert response.status_code == 200, response.text
        return [e["note"] for e in response.json()["items"] if e["action"] == "assigned"]

    assert await shown_notes(scene.staff_a) == ["cho em Erasable mượn"]
    assert await shown_notes(scene.officer) == [None]  # officers never see students' notes
    back = await client.post(
        f"{API}/assignments/{loan['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": True, "note": "Erasable trả máy"},
    )
    assert back.status_code == 200, back.text
    erased = await client.delete(f"{API}/students/{student['id']}", headers=scene.staff_a.headers)
    assert erased.status_code == 204, erased.text

    for caller in (scene.staff_a, scene.admin):
        response = await client.get(f"{API}/devices/{tag}/events", headers=caller.headers)
        about = [e for e in response.json()["items"] if e["student_id"] == student["id"]]
        assert [e["action"] for e in about] == ["assigned", "returned"]
        assert "Erasable" not in response.text
    page = await client.get(f"{API}/assignments/{loan['id']}", headers=scene.staff_a.headers)
    assert "Erasable" not in page.text
    assert await db.fetchval("SELECT note FROM assignments WHERE id = $1", loan["id"]) is None
    # The history rows are as written, and still cannot be changed.
    lent = await db.fetchrow(
        "SELECT id, note FROM device_events WHERE student_id = $1 AND action = 'assigned'",
        student["id"],
    )
    assert lent["note"] == "cho em Erasable mượn"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("UPDATE device_events SET note = NULL WHERE id = $1", lent["id"])

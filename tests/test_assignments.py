"""Loans (SPEC §2 Assignment): POST /assignments lends a device at the student's school
to an active student with consent; POST /assignments/{id}/return takes it back; a
returned laptop/tablet/smartphone must be reset before it is lent again; the database
holds at most one open loan per device, even under 50 concurrent requests."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from devicetrack.common.clock import local_today
from tests.factories import assert_problem
from tests.lifecycle_helpers import (
    API,
    Scene,
    concurrently,
    in_background,
    lock_waiters,
    make_scene,
    max_in_flight,
)


def _today():
    return local_today()  # the application's day: Vietnam's date


async def _assign(scene: Scene, tag: str, student_id: int, caller=None, **values):
    return await scene.client.post(
        f"{API}/assignments",
        headers=(caller or scene.staff_a).headers,
        json={"asset_tag": tag, "student_id": student_id} | values,
    )


async def _return(scene: Scene, loan_id: int, caller=None, **values):
    return await scene.client.post(
        f"{API}/assignments/{loan_id}/return",
        headers=(caller or scene.staff_a).headers,
        json={"condition_in": "good", "wiped": True} | values,
    )


async def _loans(scene: Scene) -> list[tuple]:
    rows = await scene.db.fetch(
        "SELECT id, device_id, student_id, returned_at IS NULL AS open FROM assignments ORDER BY id"
    )
    return [tuple(r) for r in rows]


async def test_lend_and_take_back(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    due = (_today() + timedelta(days=30)).isoformat()
    response = await _assign(scene, tag, student, due_back_on=due, condition_out="good")
    assert response.status_code == 201, response.text
    loan = response.json()
    assert (loan["asset_tag"], loan["student_id"], loan["school_id"]) == (
        tag,
        student,
        scene.school_a,
    )
    assert (loan["due_back_on"], loan["condition_out"], loan["returned_at"], loan["overdue"]) == (
        due,
        "good",
        None,
        False,
    )
    row = await db.fetchrow("SELECT * FROM assignments WHERE id = $1", loan["id"])
    assert (row["assigned_by"], row["returned_at"], str(row["due_back_on"])) == (
        scene.staff_a.user_id,
        None,
        due,
    )
    device = await scene.device(tag)
    assert (device["status"], device["student_id"], device["condition"]) == (
        "assigned",
        student,
        "good",
    )
    event = (await scene.events(tag))[-1]
    assert (event["action"], event["student_id"], event["data"]["assignment_id"]) == (
        "assigned",
        student,
        loan["id"],
    )

    back = await _return(scene, loan["id"], condition_in="fair", wiped=True, note="vỏ xước")
    assert back.status_code == 200, back.text
    assert (back.json()["condition_in"], back.json()["wiped"]) == ("fair", True)
    assert back.json()["returned_at"] is not None
    row = await db.fetchrow("SELECT * FROM assignments WHERE id = $1", loan["id"])
    assert (row["returned_by"], row["condition_in"], row["wiped"], row["note"]) == (
        scene.staff_a.user_id,
        "fair",
        True,
        "vỏ xước",
    )
    device = await scene.device(tag)
    assert (device["status"], device["student_id"], device["condition"], device["needs_wipe"]) == (
        "at_school",
        None,
        "fair",
        False,
    )
    event = (await scene.events(tag))[-1]
    assert (event["action"], event["from_status"], event["to_status"], event["data"]) == (
        "returned",
        "assigned",
        "at_school",
        {"assignment_id": loan["id"], "wiped": True},
    )
    # Lent again straight away: it was reset.
    again = await _assign(scene, tag, await scene.consenting_student())
    assert again.status_code == 201, again.text
    # Returning a loan twice is refused and names the device's status.
    body = assert_problem(await _return(scene, loan["id"]), 409)
    assert body["current_status"] == "assigned"


async def test_a_returned_device_is_reset_before_it_is_lent_again(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.intake(
        {"kind": "laptop", "serial": "L-1"},
        {"kind": "smartphone", "serial": "P-1"},
        {"kind": "tablet", "serial": "T-1"},
        {"kind": "router", "serial": "R-1"},
    )
    await scene.at_school(tags)
    first, second = await scene.consenting_student(), await scene.consenting_student()
    for tag in tags:
        loan = await scene.lend(tag, first)
        assert (await _return(scene, loan["id"], wiped=False)).status_code == 200
    needs = dict(await db.fetch("SELECT asset_tag, needs_wipe FROM devices"))
    assert [needs[t] for t in tags] == [True, True, True, False]
    for tag in tags[:3]:
        body = assert_problem(await _assign(scene, tag, second), 409)
        assert "wipe" in body["detail"]
        assert (await scene.device(tag))["status"] == "at_school"
    assert (await _assign(scene, tags[3], second)).status_code == 201
    # The `wipe` action records the reset; then the device can be lent.
    wiped = await scene.act(scene.staff_a, tags[0], "wipe", note="factory reset")
    assert wiped.json()["device"]["status"] == "at_school"
    event = (await scene.events(tags[0]))[-1]
    assert (event["action"], event["data"]) == ("wiped", {"was_pending": True})
    assert not (await scene.device(tags[0]))["needs_wipe"]
    assert (await _assign(scene, tags[0], second)).status_code == 201


async def test_what_a_loan_requires(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    ready, allocated, elsewhere, broken, with_sim = await scene.tablets(5)
    (sim,) = await scene.intake({"kind": "sim", "iccid": "8984040000000000001"})
    await scene.act(scene.officer, with_sim, "install-sim", sim=sim)
    await scene.allocate([allocated])
    await scene.at_school([ready, broken, with_sim])
    await scene.at_school([elsewhere], scene.school_b)
    await scene.act(scene.staff_a, broken, "send-to-repair")
    await scene.act(scene.staff_a, broken, "back-from-repair", condition="broken")
    student = await scene.consenting_student()
    before = [await scene.device(t) for t in (ready, allocated, elsewhere, broken, sim)]

    body = assert_problem(await _assign(scene, allocated, student), 409)
    assert body["current_status"] == "allocated"
    assert "receive" in body["allowed_actions"]
    assert "retire" not in body["allowed_actions"]  # only what this caller may do instead
    assert_problem(await _assign(scene, elsewhere, student, caller=scene.admin), 409)
    body = assert_problem(await _assign(scene, broken, student), 409)
    assert "broken" in body["detail"]
    # Nor is a device lent out as broken.
    body = assert_problem(await _assign(scene, ready, student, condition_out="broken"), 409)
    assert "broken" in body["detail"]
    body = assert_problem(await _assign(scene, sim, student), 409)
    assert "SIM" in body["detail"]

    no_consent = (await scene.student())["id"]
    withdrawn = (await scene.student())["id"]
    consent = await scene.consent(withdrawn)
    await client.post(
        f"{API}/students/{withdrawn}/consents/{consent['id']}/withdraw",
        headers=scene.staff_a.headers,
    )
    child_only = (await scene.student(grade=8))["id"]
    await scene.consent(child_only, subject="child")
    left = await scene.consenting_student()
    await client.patch(
        f"{API}/students/{left}", headers=scene.staff_a.headers, json={"status": "left"}
    )
    for student_id in (no_consent, withdrawn, child_only, left):
        assert_problem(await _assign(scene, ready, student_id), 409)
    assert_problem(await _assign(scene, ready, 999_999), 404)
    wrong = ready[:-1] + str((int(ready[-1]) + 1) % 10)
    assert_problem(await _assign(scene, wrong, student), 422)

    assert await _loans(scene) == []
    assert [await scene.device(t) for t in (ready, allocated, elsewhere, broken, sim)] == before
    # A device with a SIM is lent with its SIM.
    loan = await scene.lend(with_sim, student)
    assert (await scene.device(sim))["student_id"] == student
    assert (await scene.device(sim))["status"] == "assigned"
    assert loan["device_kind"] == "tablet"
    # One device, one open loan.
    body = assert_problem(await _assign(scene, with_sim, await scene.consenting_student()), 409)
    assert body["current_status"] == "assigned"


async def test_only_the_school_staff_lend_and_take_back(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    for caller, status in (
        (scene.officer, 403),
        (scene.donor, 403),
        (scene.staff_b, 404),
        (scene.officer_other, 404),
    ):
        assert_problem(await _assign(scene, tag, student, caller=caller), status)
    assert await _loans(scene) == []
    loan = await scene.lend(tag, student)
    for caller, status in (
        (scene.officer, 403),
        (scene.donor, 404),
        (scene.staff_b, 404),
        (scene.officer_other, 404),
    ):
        assert_problem(await _return(scene, loan["id"], caller=caller), status)
    assert [row[3] for row in await _loans(scene)] == [True]
    assert (await scene.device(tag))["status"] == "assigned"
    assert (await _return(scene, loan["id"], caller=scene.admin)).status_code == 200


async def test_list_loans_by_school_student_open_and_overdue(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.at_school(tags[:3])
    await scene.at_school(tags[3:], scene.school_b)
    s1, s2 = await scene.consenting_student(), await scene.consenting_student()
    s3 = await scene.consenting_student(scene.school_b)
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    later = (_today() + timedelta(days=7)).isoformat()
    overdue = await scene.lend(tags[0], s1, due_back_on=tomorrow)
    current = await scene.lend(tags[1], s2, due_back_on=later)
    done = await scene.lend(tags[2], s1, due_back_on=tomorrow)
    await _return(scene, done["id"])
    other = await scene.lend(tags[3], s3, caller=scene.staff_b, due_back_on=tomorrow)
    # Two days pass: the loans due tomorrow are now a day overdue (a loan cannot be made
    # already overdue: see test_a_loan_cannot_be_due_in_the_past).
    await db.execute(
        "UPDATE assignments SET due_back_on = due_back_on - 2 WHERE due_back_on = $1::date",
        _today() + timedelta(days=1),
    )

    async def ids(caller=None, **params) -> list[int]:
        response = await client.get(
            f"{API}/assignments", params=params, headers=(caller or scene.admin).headers
        )
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert await ids() == [overdue["id"], current["id"], done["id"], other["id"]]
    assert await ids(school=scene.school_a) == [overdue["id"], current["id"], done["id"]]
    assert await ids(student=s1) == [overdue["id"], done["id"]]
    assert await ids(open="true") == [overdue["id"], current["id"], other["id"]]
    assert await ids(open="false") == [done["id"]]
    assert await ids(overdue="true") == [overdue["id"], other["id"]]
    assert await ids(overdue="true", school=scene.school_b) == [other["id"]]
    assert await ids(overdue="false") == [current["id"], done["id"]]
    assert await ids(scene.staff_a) == [overdue["id"], current["id"], done["id"]]
    assert await ids(scene.staff_a, school=scene.school_b) == []
    assert await ids(scene.officer) == [overdue["id"], current["id"], done["id"], other["id"]]
    assert await ids(scene.officer_other) == []
    listed = (await client.get(f"{API}/assignments", headers=scene.admin.headers)).json()
    assert [a["overdue"] for a in listed["items"]] == [True, False, False, True]
    one = await client.get(f"{API}/assignments/{current['id']}", headers=scene.staff_a.headers)
    assert one.json()["id"] == current["id"] and one.json()["student_id"] == s2
    assert_problem(
        await client.get(f"{API}/assignments/{other['id']}", headers=scene.staff_a.headers), 404
    )
    assert_problem(await client.get(f"{API}/assignments", headers=scene.donor.headers), 403)


async def test_fifty_concurrent_loans_of_one_device(client, db, factory) -> None:
    """50 staff requests at once lend one tablet to 50 different students, all with
    consent: exactly one succeeds, 49 are refused with 409, one open loan exists."""
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    students = [await scene.consenting_student() for _ in range(50)]
    results = await concurrently(
        client,
        [
            ("POST", f"{API}/assignments", scene.staff_a, {"asset_tag": tag, "student_id": s})
            for s in students
        ],
    )
    assert max_in_flight(results) >= 10
    codes = [r.response.status_code for r in results]
    assert codes.count(201) == 1, [
        r.response.text for r in results if r.response.status_code != 409
    ]
    assert codes.count(409) == 49, codes
    for result in results:
        if result.response.status_code == 409:
            assert_problem(result.response, 409)
    winner = next(r.response.json() for r in results if r.response.status_code == 201)
    loans = await _loans(scene)
    device = await scene.device(tag)
    assert loans == [(winner["id"], device["id"], winner["student_id"], True)]
    assert (device["status"], device["student_id"]) == ("assigned", winner["student_id"])
    assert [e["action"] for e in await scene.events(tag)].count("assigned") == 1


async def test_a_loan_and_a_return_for_one_student_never_deadlock(client, db, factory) -> None:
    """Found by scripts/loadtest.py: a return took the school's counter row and then the
    student's row (refreshing `has_device`), a loan for the same student took them the other
    way round, and one of the two died in a deadlock (409 retry). Here the test holds the
    counter row so that the return queues for it first and the loan second — the order
    that deadlocked — then lets go: both must succeed."""
    scene = await make_scene(client, db, factory)
    first, second = await scene.tablets(2)
    await scene.at_school([first, second])
    student = await scene.consenting_student()
    loan = (await scene.lend(first, student))["id"]
    returned, lent = await _queued_behind_a_return(
        client,
        db,
        scene,
        loan,
        ("POST", f"{API}/assignments", {"asset_tag": second, "student_id": student}),
    )
    assert returned.status_code == 200, returned.text
    assert lent.status_code == 201, lent.text
    assert (
        await db.fetchval(
            "SELECT students_with_device FROM school_counts WHERE school_id = $1", scene.school_a
        )
        == 1
    )


async def _queued_behind_a_return(client, db, scene, loan: int, second: tuple) -> tuple:
    """Hold the school's counter row; queue a return of `loan` on it, then `second`
    (method, url, body) as the same staff; let go; both responses."""
    async with db.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "SELECT 1 FROM school_counts WHERE school_id = $1 FOR UPDATE", scene.school_a
        )
        back = in_background(
            client,
            "POST",
            f"{API}/assignments/{loan}/return",
            scene.staff_a,
            {"condition_in": "good", "wiped": True},
        )
        await _wait_for_waiters(db, 1)
        method, url, body = second
        other = in_background(client, method, url, scene.staff_a, body)
        await _wait_for_waiters(db, 2)
        await tx.commit()
    return await back, await other


async def _wait_for_waiters(db, n: int) -> None:
    for _ in range(200):
        if len(await lock_waiters(db)) >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {n} requests waiting on a lock")


async def test_a_return_and_an_edit_of_the_same_student_never_deadlock(client, db, factory) -> None:
    """Found in review: editing a student locked the student's row and then (through the
    counter trigger) the school's counter row, while a return holds the counter row and
    then needs the student's row. The test queues the return first and the edit second on
    a counter row it holds, then lets go: both must succeed."""
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    loan = (await scene.lend(tag, student))["id"]
    returned, edited = await _queued_behind_a_return(
        client, db, scene, loan, ("PATCH", f"{API}/students/{student}", {"priority": ["remote"]})
    )
    assert returned.status_code == 200, returned.text
    assert edited.status_code == 200, edited.text
    assert (
        await db.fetchval(
            "SELECT students_with_device FROM school_counts WHERE school_id = $1", scene.school_a
        )
        == 0
    )


async def test_sign_out_with_an_expired_session_still_clears_the_cookie(web, factory) -> None:
    from datetime import timedelta

    from tests.web_helpers import form

    staff = await factory.user("school_staff", expires_in=timedelta(seconds=-1))
    out = await web.post(
        "/logout", data=form(staff), headers={"Cookie": f"dt_session={staff.token}"}
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert 'dt_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]


async def test_a_loan_cannot_be_due_in_the_past(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = tags = await scene.tablets(1)
    await scene.at_school(tags)
    student = await scene.consenting_student()
    yesterday = (_today() - timedelta(days=1)).isoformat()
    refused = await _assign(scene, tag, student, due_back_on=yesterday)
    body = assert_problem(refused, 422)
    assert body["errors"][0]["field"] == "due_back_on"
    assert (await scene.device(tag))["status"] == "at_school"
    today = await _assign(scene, tag, student, due_back_on=_today().isoformat())
    assert today.status_code == 201, today.text


async def test_a_return_and_a_plan_renewal_of_its_sim_never_deadlock(client, db, factory) -> None:
    """Found in review: renewing a SIM's plan locked the SIM's row and then (through the
    triggers) the school's counter row, while returning its tablet holds the counter row and
    then moves the SIM. Queued behind a return on a held counter row, both must succeed."""
    scene = await make_scene(client, db, factory)
    (tablet,) = await scene.tablets(1)
    (sim,) = await scene.intake(
        {
            "kind": "sim",
            "iccid": "8984040000000000084",
            "plan_expires_on": (_today() + timedelta(days=5)).isoformat(),
        }
    )
    await scene.act(scene.officer, tablet, "install-sim", sim=sim)
    await scene.at_school([tablet])
    student = await scene.consenting_student()
    loan = (await scene.lend(tablet, student))["id"]
    renewal = {"plan_expires_on": (_today() + timedelta(days=95)).isoformat()}
    returned, renewed = await _queued_behind_a_return(
        client, db, scene, loan, ("PATCH", f"{API}/devices/{sim}", renewal)
    )
    assert returned.status_code == 200, returned.text
    assert renewed.status_code == 200, renewed.text
    assert str((await scene.device(sim))["plan_expires_on"]) == renewal["plan_expires_on"]

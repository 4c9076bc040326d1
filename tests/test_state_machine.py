"""The one state machine (#11 item 3): every action the API accepts is a row of
`lifecycle.TRANSITIONS`; `actions_for` is both a refused transition's `allowed_actions` and
the device page's buttons; the status sets agree with the counter triggers; and a row that
moves to another school between the scope read and the counter lock is refused."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from devicetrack.auth.principal import Principal
from devicetrack.custody.service import ACTIONS, PAIRING
from devicetrack.devices import lifecycle
from devicetrack.devices.values import DeviceStatus
from tests.factories import Caller, assert_problem
from tests.lifecycle_helpers import API, Scene, in_background, lock_waiters, make_scene
from tests.test_lifecycle import STATUSES, Lab
from tests.web_helpers import browser


@dataclass(frozen=True)
class AtStatus:
    status: str


def principal_of(caller: Caller) -> Principal:
    return Principal(user_id=caller.user_id, email="-", full_name="-", role=caller.role)


# ---- the table covers the API ---------------------------------------------------------


def test_every_action_named_once_with_its_roles_and_route() -> None:
    """Register, allocate, receive, assign, return, wipe, SIM in and out, repair, lost,
    stolen, found, transfer and retire: all in the one table."""
    assert set(lifecycle.TRANSITIONS) == {
        "register",
        "allocate",
        "receive",
        "assign",
        "return",
        "wipe",
        "install-sim",
        "remove-sim",
        "send-to-repair",
        "back-from-repair",
        "report-lost",
        "report-stolen",
        "found",
        "transfer",
        "retire",
    }
    for name, t in lifecycle.TRANSITIONS.items():
        assert t.action == name and t.roles and t.event, t
        assert t.sources <= set(DeviceStatus), t
    # The device-action route runs exactly the table's rows on that route; the upkeep rows
    # (no status change) are the ones custody performs through devices/service.py.
    assert (
        sorted(a for a, t in lifecycle.TRANSITIONS.items() if t.route == lifecycle.DEVICE_ACTIONS)
        == ACTIONS
    )
    assert set(PAIRING) == {a for a, t in lifecycle.TRANSITIONS.items() if not t.changes_status}


async def test_the_table_covers_every_action_name_the_api_accepts(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    response = await client.post(
        f"{API}/devices/{tag}/actions/no-such-action", headers=scene.admin.headers
    )
    accepted = assert_problem(response, 404)["actions"]
    assert set(accepted) <= set(lifecycle.TRANSITIONS)
    assert set(accepted) == {
        a for a, t in lifecycle.TRANSITIONS.items() if t.route == lifecycle.DEVICE_ACTIONS
    }
    # The rows on other routes name routes the API has.
    schema = client.app.openapi_schema.to_schema()
    for t in lifecycle.TRANSITIONS.values():
        if t.route == lifecycle.DEVICE_ACTIONS:
            continue
        method, path = t.route.split(" ")
        pattern = re.sub(r"\\\{[^}]+\\\}", r"\{[^}]+\}", re.escape(API + path)) + "$"
        assert any(
            re.match(pattern, p) and method.lower() in ops for p, ops in schema["paths"].items()
        ), t.route


# ---- actions_for is the 409 and the page ----------------------------------------------


def a_refused_action(principal: Principal, status: str) -> str:
    """A device action this caller's role may take, but not from this status: a 409."""
    return next(
        t.action
        for t in sorted(lifecycle.TRANSITIONS.values(), key=lambda t: t.action)
        if t.route == lifecycle.DEVICE_ACTIONS
        and t.changes_status
        and lifecycle.may(principal, t)
        and status not in t.sources
    )


PAGE_ACTION = re.compile(r'action="/devices/[^/"]+/actions/([a-z-]+)"')
UPKEEP = {"wipe", "install-sim", "remove-sim"}


def buttons_on(html: str, tag: str) -> set[str]:
    found = set(PAGE_ACTION.findall(html)) - UPKEEP
    if f'href="/devices/{tag}/lend"' in html:
        found.add("assign")
    if f'href="/devices/{tag}/return"' in html:
        found.add("return")
    if re.search(r'class="button primary big" href="/schools/\d+/receive"', html):
        found.add("receive")
    return found


async def test_actions_for_is_the_409_and_the_device_page(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tags = await Lab(scene).devices_in([(status, False) for status in STATUSES])
    callers = {"admin": scene.admin, "officer": scene.officer, "staff": scene.staff_a}
    for status, tag in zip(STATUSES, tags, strict=True):
        for who, caller in callers.items():
            if who == "staff" and status == "in_stock":
                continue  # province stock is not at the staff's school: not found
            principal = principal_of(caller)
            offered = lifecycle.actions_for(principal, AtStatus(status))
            where = f"{status} as {who}"

            action = a_refused_action(principal, status)
            response = await client.post(
                f"{API}/devices/{tag}/actions/{action}", headers=caller.headers, json={}
            )
            body = assert_problem(response, 409)
            assert body["current_status"] == status, (where, body)
            assert body["allowed_actions"] == [t.label for t in offered], (where, body)

            page = await client.get(f"/devices/{tag}", headers=browser(caller))
            assert page.status_code == 200, (where, page.text)
            # Allocating is done from the province's allocation page, not the device page.
            expected = {t.action for t in offered} - {"allocate"}
            assert buttons_on(page.text, tag) == expected, where


def test_actions_for_offers_only_status_changes_the_role_may_take() -> None:
    for status in STATUSES:
        for role in ("admin", "province_officer", "school_staff", "donor"):
            principal = Principal(user_id=1, email="-", full_name="-", role=role)
            for t in lifecycle.actions_for(principal, AtStatus(status)):
                assert t.changes_status and status in t.sources
                assert role == "admin" or role in t.roles
    donor = Principal(user_id=1, email="-", full_name="-", role="donor")
    assert all(lifecycle.actions_for(donor, AtStatus(s)) == [] for s in STATUSES)


# ---- the status sets and the counter triggers ------------------------------------------


async def test_school_held_is_the_counter_triggers_held(db: asyncpg.Pool) -> None:
    """`SCHOOL_HELD` is what the counter triggers count as a school's devices; `IN_HAND`
    (what can go missing) is that and the province's stock, which the stock counter counts."""
    rows = await db.fetch(
        """SELECT p.proname, pg_get_functiondef(p.oid) AS body
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND p.prokind = 'f'
              AND p.prorettype = 'trigger'::regtype"""
    )
    held_lists: dict[str, list[set[str]]] = {}
    stock: set[str] = set()
    for row in rows:
        body = row["body"]
        for m in re.finditer(r"school_id IS NOT NULL AND status IN \(([^)]*)\)", body):
            held_lists.setdefault(row["proname"], []).append(set(re.findall(r"'(\w+)'", m[1])))
        stock |= set(re.findall(r"WHERE status = '(\w+)' GROUP BY", body))
    assert held_lists, "no counter trigger function found"
    for name, lists in held_lists.items():
        for found in lists:
            assert found == set(lifecycle.SCHOOL_HELD), (name, found)
    assert stock == {"in_stock"}
    assert lifecycle.SCHOOL_HELD | stock == lifecycle.IN_HAND
    assert lifecycle.TRANSITIONS["report-lost"].sources == lifecycle.IN_HAND


# ---- a row that moved between the read and the lock -----------------------------------


async def _wait_for_lock_waiter(db: asyncpg.Pool, task: asyncio.Future[Any]) -> None:
    for _ in range(200):
        assert not task.done(), (await task).text
        if await lock_waiters(db):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the request never waited on the counter row")


async def _moved_while_waiting(
    scene: Scene, student_id: int, method: str, url: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Hold school A's counter row; start `request`; once it waits on that row, move the
    student to school B and let go. The request then finds the student elsewhere."""
    db = scene.db
    async with db.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "INSERT INTO school_counts (school_id) VALUES ($1) ON CONFLICT DO NOTHING",
            scene.school_a,
        )
        await conn.execute(
            "SELECT 1 FROM school_counts WHERE school_id = $1 FOR UPDATE", scene.school_a
        )
        task = in_background(scene.client, method, url, scene.admin, body)
        try:
            await _wait_for_lock_waiter(db, task)
            await conn.execute(
                "UPDATE students SET school_id = $1 WHERE id = $2", scene.school_b, student_id
            )
        finally:
            await tx.commit()
        response = await task
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ["assign", "update"])
async def test_a_student_who_moved_between_read_and_lock_is_refused(
    client, db, factory, path
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await Lab(scene).devices_in([("at_school", False)])
    student_id = await scene.consenting_student()

    if path == "assign":
        request = ("POST", f"{API}/assignments", {"asset_tag": tag, "student_id": student_id})
    else:
        request = ("PATCH", f"{API}/students/{student_id}", {"grade": 6})
    status, body = await _moved_while_waiting(scene, student_id, *request)
    assert status == 409, body
    assert body["detail"] == "The student moved to another school meanwhile; try again."
    # Nothing was written for the stale school.
    assert await db.fetchval("SELECT count(*) FROM assignments") == 0
    assert await db.fetchval("SELECT grade FROM students WHERE id = $1", student_id) == 5
    assert (await scene.device(tag))["status"] == "at_school"

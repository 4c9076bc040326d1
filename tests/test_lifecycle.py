"""SPEC §3, the device lifecycle, through POST /devices/{tag}/actions/{action} and
/assignments: every transition of the table succeeds for the roles it names (and admins)
and is refused for every other role; every transition outside the table is refused with
409 naming the current status and the allowed actions. Each change writes one event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.factories import Caller, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene

STATUSES = (
    "in_stock",
    "allocated",
    "at_school",
    "assigned",
    "in_repair",
    "lost",
    "stolen",
    "retired",
)
HELD = ("in_stock", "allocated", "at_school", "assigned", "in_repair")
STAFF, OFFICER = "staff", "officer"


@dataclass(frozen=True)
class Row:
    """One row of the SPEC §3 table."""

    sources: tuple[str, ...]
    roles: frozenset[str]  # besides admin
    event: str


TABLE: dict[str, Row] = {
    "allocate": Row(("in_stock",), frozenset({OFFICER}), "allocated"),
    "receive": Row(("allocated",), frozenset({STAFF}), "received"),
    "assign": Row(("at_school",), frozenset({STAFF}), "assigned"),
    "return": Row(("assigned",), frozenset({STAFF}), "returned"),
    "send-to-repair": Row(("at_school", "in_stock"), frozenset({STAFF, OFFICER}), "sent-to-repair"),
    "back-from-repair": Row(("in_repair",), frozenset({STAFF, OFFICER}), "back-from-repair"),
    "report-lost": Row(HELD, frozenset({STAFF, OFFICER}), "reported-lost"),
    "report-stolen": Row(HELD, frozenset({STAFF, OFFICER}), "reported-stolen"),
    "found": Row(("lost", "stolen"), frozenset({STAFF, OFFICER}), "found"),
    "transfer": Row(("at_school",), frozenset({OFFICER}), "transferred"),
    "retire": Row(
        tuple(s for s in STATUSES if s not in ("assigned", "retired")),
        frozenset({OFFICER}),
        "retired",
    ),
}


def allowed_in(status: str) -> set[str]:
    return {action for action, row in TABLE.items() if status in row.sources}


def target(action: str, status: str, scene: Scene, before: Any) -> tuple[str, int | None]:
    """The status and school a device in `status` (held at school A unless in stock) has
    after `action`, by the table. Devices in repair came from school A."""
    school = before["school_id"]
    return {
        "allocate": ("allocated", scene.school_a),
        "receive": ("at_school", school),
        "assign": ("assigned", school),
        "return": ("at_school", school),
        "send-to-repair": ("in_repair", school),
        "back-from-repair": ("at_school", school),
        "report-lost": ("lost", school),
        "report-stolen": ("stolen", school),
        "found": ("at_school" if school else "in_stock", school),
        "transfer": ("allocated", scene.school_b),
        "retire": ("retired", school),
    }[action]


class Lab:
    """Devices driven to given statuses through the API, and what acting on them needs."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.loan: dict[str, int] = {}

    async def devices_in(self, plan: list[tuple[str, bool]]) -> list[str]:
        """One tablet per (status, closed_loan) of the plan, held at school A unless in
        stock; with closed_loan the device was lent and returned before."""
        s = self.scene
        tags = await s.tablets(len(plan))
        placed = [t for t, (status, _) in zip(tags, plan, strict=True) if status != "in_stock"]
        if placed:
            await s.allocate(placed)
        received = [
            t
            for t, (status, closed) in zip(tags, plan, strict=True)
            if status not in ("in_stock", "allocated") or closed
        ]
        if received:
            await s.receive(received)
        for tag, (status, closed) in zip(tags, plan, strict=True):
            await self._drive(tag, status, closed)
            assert (await s.device(tag))["status"] == status
        return tags

    async def _drive(self, tag: str, status: str, closed_loan: bool) -> None:
        s = self.scene
        if closed_loan:
            loan = await s.lend(tag, await s.consenting_student())
            response = await s.client.post(
                f"{API}/assignments/{loan['id']}/return",
                headers=s.staff_a.headers,
                json={"condition_in": "good", "wiped": True},
            )
            assert response.status_code == 200, response.text
            self.loan[tag] = loan["id"]
            if status == "allocated":
                await s.act(s.officer, tag, "transfer", school_id=s.school_b)
        if status == "assigned":
            loan = await s.lend(tag, await s.consenting_student())
            self.loan.setdefault(tag, loan["id"])
        elif status == "in_repair":
            await s.act(s.staff_a, tag, "send-to-repair")
        elif status in ("lost", "stolen", "retired"):
            action = {"lost": "report-lost", "stolen": "report-stolen", "retired": "retire"}
            await s.act(s.officer, tag, action[status])

    async def perform(self, caller: Caller, tag: str, action: str, student_id: int) -> Any:
        s = self.scene
        if action == "assign":
            return await s.client.post(
                f"{API}/assignments",
                headers=caller.headers,
                json={"asset_tag": tag, "student_id": student_id},
            )
        if action == "return":
            return await s.client.post(
                f"{API}/assignments/{self.loan[tag]}/return",
                headers=caller.headers,
                json={"condition_in": "good", "wiped": True},
            )
        body = {"note": f"{action} by test"}
        if action == "allocate":
            body["school_id"] = s.school_a
        if action == "transfer":
            body["school_id"] = s.school_b
        return await s.act(caller, tag, action, expect=None, **body)


def refused_callers(scene: Scene, action: str, status: str) -> dict[str, Caller]:
    row = TABLE[action]
    callers = {
        "donor of the device": scene.donor,
        "staff of another school": scene.staff_b,
        "officer of another province": scene.officer_other,
    }
    if STAFF not in row.roles or status == "in_stock":
        callers["staff of the school"] = scene.staff_a
    if OFFICER not in row.roles:
        callers["officer of the province"] = scene.officer
    return callers


async def snapshot(scene: Scene, tag: str) -> tuple[Any, ...]:
    device = await scene.device(tag)
    open_loans = await scene.db.fetchval(
        "SELECT count(*) FROM assignments WHERE device_id = $1 AND returned_at IS NULL",
        device["id"],
    )
    return (
        device["status"],
        device["school_id"],
        device["student_id"],
        len(await scene.events(tag)),
        open_loans,
    )


def roles_for(action: str, status: str) -> list[str]:
    """Who may perform an action of the table: admins, and the roles the table names;
    school staff act on devices of their school only, so never on province stock."""
    roles = ["admin", *sorted(TABLE[action].roles)]
    return [r for r in roles if not (r == STAFF and status == "in_stock")]


@pytest.mark.parametrize("action", list(TABLE))
async def test_transition_table(client, db, factory, action) -> None:
    """For one action, every source status: outside the table refused with 409 and
    nothing changed; in the table refused for every other role (403/404, nothing changed)
    and performed by each role it names, with exactly one event."""
    scene = await make_scene(client, db, factory)
    lab = Lab(scene)
    plan: list[tuple[str, str | None]] = []  # (status, role; None = outside the table)
    for status in STATUSES:
        if status in TABLE[action].sources:
            plan += [(status, role) for role in roles_for(action, status)]
        elif not (action == "return" and status == "in_stock"):
            # (a device in stock was never lent, so it has no loan to return)
            plan.append((status, None))
    tags = await lab.devices_in(
        [(status, action == "return" and status != "assigned") for status, _ in plan]
    )
    students = [await scene.consenting_student() for _ in plan] if action == "assign" else []
    refusals_checked: set[str] = set()
    for i, ((status, role), tag) in enumerate(zip(plan, tags, strict=True)):
        student_id = students[i] if students else 0
        before = await scene.device(tag)
        unchanged = await snapshot(scene, tag)
        where = f"{action} on {status} by {role or 'admin'}"

        if role is None:
            response = await lab.perform(scene.admin, tag, action, student_id)
            body = assert_problem(response, 409)
            assert body["current_status"] == status, (where, body)
            assert status in body["detail"], (where, body)
            assert {a.split()[0] for a in body["allowed_actions"]} == allowed_in(status), (
                where,
                body,
            )
            assert await snapshot(scene, tag) == unchanged, where
            continue

        if status not in refusals_checked:
            refusals_checked.add(status)
            for who, caller in refused_callers(scene, action, status).items():
                response = await lab.perform(caller, tag, action, student_id)
                assert response.status_code in (403, 404), (where, who, response.text)
                assert_problem(response, response.status_code)
                assert await snapshot(scene, tag) == unchanged, (where, who)

        caller = {"admin": scene.admin, STAFF: scene.staff_a, OFFICER: scene.officer}[role]
        response = await lab.perform(caller, tag, action, student_id)
        assert response.status_code == (201 if action == "assign" else 200), (
            where,
            response.text,
        )
        to_status, to_school = target(action, status, scene, before)
        after = await scene.device(tag)
        assert (after["status"], after["school_id"]) == (to_status, to_school), where
        result = response.json()
        if action in ("assign", "return"):
            assert result["asset_tag"] == tag, where
            assert result["returned_at"] is None if action == "assign" else result["returned_at"]
        else:
            assert result["action"] == action, where
            assert result["device"]["status"] == to_status, where
            assert result["device"]["school_id"] == to_school, where
        open_loans = await db.fetchval(
            "SELECT count(*) FROM assignments WHERE device_id = $1 AND returned_at IS NULL",
            after["id"],
        )
        if to_status == "assigned":
            assert (after["student_id"], open_loans) == (student_id, 1), where
        else:
            # Not lent any more: a lost or stolen device's loan is closed too.
            assert (after["student_id"], open_loans) == (None, 0), where

        events = await scene.events(tag)
        assert len(events) == unchanged[3] + 1, (where, [e["action"] for e in events])
        event = events[-1]
        assert event["action"] == TABLE[action].event, where
        assert (event["from_status"], event["to_status"]) == (status, to_status), where
        assert event["actor_id"] == caller.user_id, where
        assert event["school_id"] == to_school, where
        if action == "assign":
            assert event["student_id"] == student_id, where
        if action == "return":
            assert event["student_id"] == before["student_id"], where


async def test_back_from_repair_returns_where_it_came_from(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    stock, school = await scene.tablets(2)
    await scene.at_school([school])
    for tag, origin, where in ((stock, "in_stock", None), (school, "at_school", scene.school_a)):
        await scene.act(scene.officer, tag, "send-to-repair")
        assert (await scene.device(tag))["status"] == "in_repair"
        result = (await scene.act(scene.officer, tag, "back-from-repair")).json()
        assert (result["device"]["status"], result["device"]["school_id"]) == (origin, where)
        device = await scene.device(tag)
        assert (device["status"], device["school_id"]) == (origin, where)
        last = (await scene.events(tag))[-1]
        assert (last["action"], last["from_status"], last["to_status"]) == (
            "back-from-repair",
            "in_repair",
            origin,
        )


async def test_found_goes_to_its_school_or_to_stock(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    stock, allocated, school = await scene.tablets(3)
    await scene.allocate([allocated, school])
    await scene.receive([school])
    for tag, report in (
        (stock, "report-lost"),
        (allocated, "report-stolen"),
        (school, "report-lost"),
    ):
        await scene.act(scene.officer, tag, report)
        await scene.act(scene.officer, tag, "found")
    assert [(await scene.device(t))["status"] for t in (stock, allocated, school)] == [
        "in_stock",
        "at_school",
        "at_school",
    ]
    assert (await scene.device(allocated))["school_id"] == scene.school_a
    assert (await scene.device(stock))["school_id"] is None


async def test_transfer_needs_another_active_school_of_the_province(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    events = len(await scene.events(tag))
    body = assert_problem(await scene.act(scene.officer, tag, "transfer", expect=None), 422)
    assert body["errors"][0]["field"] == "school_id"
    assert_problem(
        await scene.act(scene.officer, tag, "transfer", expect=None, school_id=scene.school_a), 409
    )
    # Another province's school is not one an officer can name; nor may an admin move it.
    assert_problem(
        await scene.act(scene.officer, tag, "transfer", expect=None, school_id=scene.school_c), 404
    )
    assert_problem(
        await scene.act(scene.admin, tag, "transfer", expect=None, school_id=scene.school_c), 409
    )
    await db.execute("UPDATE schools SET active = false WHERE id = $1", scene.school_b)
    assert_problem(
        await scene.act(scene.officer, tag, "transfer", expect=None, school_id=scene.school_b), 409
    )
    device = await scene.device(tag)
    assert (device["status"], device["school_id"]) == ("at_school", scene.school_a)
    assert len(await scene.events(tag)) == events
    await db.execute("UPDATE schools SET active = true WHERE id = $1", scene.school_b)
    result = await scene.act(scene.officer, tag, "transfer", school_id=scene.school_b)
    assert result.json()["device"]["status"] == "allocated"
    assert (await scene.events(tag))[-1]["data"] == {"from_school": scene.school_a}
    # The new school receives it; the old one no longer sees it.
    await scene.receive([tag], scene.school_b)
    assert (await scene.device(tag))["status"] == "at_school"
    gone = await client.get(f"{API}/devices/{tag}", headers=scene.staff_a.headers)
    assert_problem(gone, 404)


async def test_allocate_action_needs_a_school(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    body = assert_problem(await scene.act(scene.officer, tag, "allocate", expect=None), 422)
    assert body["errors"][0]["field"] == "school_id"
    assert_problem(
        await scene.act(scene.officer, tag, "allocate", expect=None, school_id=scene.school_c), 404
    )
    assert (await scene.device(tag))["status"] == "in_stock"
    assert len(await scene.events(tag)) == 1


async def test_unknown_action_and_mistyped_tag(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    body = assert_problem(await scene.act(scene.admin, tag, "explode", expect=None), 404)
    assert "retire" in body["actions"] and "allocate" in body["actions"]
    wrong = tag[:-1] + str((int(tag[-1]) + 1) % 10)
    body = assert_problem(await scene.act(scene.admin, wrong, "retire", expect=None), 422)
    assert body["did_you_mean"] == tag
    assert (await scene.device(tag))["status"] == "in_stock"


async def test_retired_is_terminal(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.act(scene.officer, tag, "retire", reason="beyond repair")
    assert (await scene.events(tag))[-1]["data"] == {"reason": "beyond repair"}
    for action in TABLE:
        if action in ("assign", "return"):
            continue
        body = assert_problem(
            await scene.act(scene.admin, tag, action, expect=None, school_id=scene.school_a), 409
        )
        assert body["current_status"] == "retired" and body["allowed_actions"] == []


async def test_installed_sim_moves_with_its_device(client, db, factory) -> None:
    """Through the whole life of a tablet, its SIM has the tablet's status, school and
    student, and each move writes one event of the SIM's own."""
    scene = await make_scene(client, db, factory)
    tablet, sim = await scene.intake(
        {"kind": "tablet", "serial": "TAB-SIM-1"}, {"kind": "sim", "iccid": "8984040000000000001"}
    )
    installed = await scene.act(scene.officer, tablet, "install-sim", sim=sim)
    assert installed.json()["device"]["installed_sim"] == sim
    student = await scene.consenting_student()

    async def step(send: Any, event: str) -> None:
        sim_events = len(await scene.events(sim))
        tablet_events = len(await scene.events(tablet))
        await send()
        host, moved = await scene.device(tablet), await scene.device(sim)
        assert (moved["status"], moved["school_id"], moved["student_id"]) == (
            host["status"],
            host["school_id"],
            host["student_id"],
        ), event
        assert moved["installed_in_id"] == host["id"]
        assert len(await scene.events(tablet)) == tablet_events + 1, event
        new = (await scene.events(sim))[sim_events:]
        assert len(new) == 1, event
        assert new[0]["action"] == event
        assert new[0]["to_status"] == host["status"]
        assert new[0]["data"] == {"with_device": tablet}

    await step(
        lambda: scene.act(scene.officer, tablet, "allocate", school_id=scene.school_a), "allocated"
    )
    await step(lambda: scene.receive([tablet]), "received")
    loan: dict[str, Any] = {}

    async def lend() -> None:
        loan.update(await scene.lend(tablet, student))

    await step(lend, "assigned")
    assert (await scene.device(sim))["student_id"] == student

    async def give_back() -> None:
        response = await client.post(
            f"{API}/assignments/{loan['id']}/return",
            headers=scene.staff_a.headers,
            json={"condition_in": "good", "wiped": True},
        )
        assert response.status_code == 200, response.text

    await step(give_back, "returned")
    await step(lambda: scene.act(scene.staff_a, tablet, "send-to-repair"), "sent-to-repair")
    await step(lambda: scene.act(scene.staff_a, tablet, "back-from-repair"), "back-from-repair")
    await step(lambda: scene.act(scene.staff_a, tablet, "report-stolen"), "reported-stolen")
    await step(lambda: scene.act(scene.staff_a, tablet, "found"), "found")
    await step(
        lambda: scene.act(scene.officer, tablet, "transfer", school_id=scene.school_b),
        "transferred",
    )
    await step(lambda: scene.receive([tablet], scene.school_b), "received")
    await step(lambda: scene.act(scene.officer, tablet, "retire"), "retired")
    # A SIM installed in a device is not allocated on its own.
    (tablet2,) = await scene.tablets(1)
    (sim2,) = await scene.intake({"kind": "sim", "iccid": "8984040000000000027"})
    await scene.act(scene.officer, tablet2, "install-sim", sim=sim2)
    response = await client.post(
        f"{API}/allocations",
        headers=scene.officer.headers,
        json={"school_id": scene.school_a, "asset_tags": [sim2]},
    )
    assert_problem(response, 409)
    assert (await scene.device(sim2))["status"] == "in_stock"


async def test_an_installed_sim_does_not_move_on_its_own(client, db, factory) -> None:
    """Acting on an installed SIM alone would separate it from its device: refused, and a
    receipt that scans only the SIM reports it instead of receiving it."""
    scene = await make_scene(client, db, factory)
    tablet, sim = await scene.intake(
        {"kind": "tablet", "serial": "TAB-SIM-2"}, {"kind": "sim", "iccid": "8984040000000000001"}
    )
    await scene.act(scene.officer, tablet, "install-sim", sim=sim)
    await scene.allocate([tablet])
    before, events = await scene.device(sim), len(await scene.events(sim))
    assert before["status"] == "allocated"
    response = await client.post(
        f"{API}/schools/{scene.school_a}/receipts",
        headers=scene.staff_a.headers,
        json={"asset_tags": [sim]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["received"] == []
    assert [d["asset_tag"] for d in response.json()["discrepancies"]] == [sim]
    assert tablet in response.json()["discrepancies"][0]["reason"]
    for action, body in (
        ("report-lost", {}),
        ("retire", {}),
        ("transfer", {"school_id": scene.school_b}),
    ):
        refused = await scene.act(scene.officer, sim, action, expect=None, **body)
        problem = assert_problem(refused, 409)
        assert problem["current_status"] == "allocated" and tablet in problem["detail"]
    assert await scene.device(sim) == before
    assert len(await scene.events(sim)) == events
    # Scanned with its device, it arrives with it, once.
    response = await client.post(
        f"{API}/schools/{scene.school_a}/receipts",
        headers=scene.staff_a.headers,
        json={"asset_tags": [tablet, sim]},
    )
    assert response.json()["received"] == [tablet]
    assert (await scene.device(sim))["status"] == "at_school"
    assert [e["action"] for e in await scene.events(sim)][events:] == ["received"]
    # Removed from its device, the SIM is a device of its own again.
    await scene.act(scene.staff_a, tablet, "remove-sim")
    await scene.act(scene.officer, sim, "report-lost")
    assert (await scene.device(sim))["status"] == "lost"
    assert (await scene.device(tablet))["status"] == "at_school"


async def test_a_sims_plan_is_renewed_by_editing_it_and_coverage_follows(
    client, db, factory
) -> None:
    from devicetrack.common.clock import local_today

    scene = await make_scene(client, db, factory)
    (tablet,) = tags = await scene.tablets(1)
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    (sim,) = await scene.intake(
        {"kind": "sim", "iccid": "8984040000000000050", "plan_expires_on": yesterday}
    )
    await scene.act(scene.officer, tablet, "install-sim", sim=sim)
    await scene.at_school(tags)
    await scene.lend(tablet, await scene.consenting_student())

    async def connected() -> int:
        report = await client.get(
            f"{API}/reports/coverage",
            params={"level": "school", "province": "11"},
            headers=scene.officer.headers,
        )
        rows = {r["school_id"]: r for r in report.json()["items"]}
        return int(rows[scene.school_a]["students_connected"])

    assert await connected() == 0  # the plan has run out
    renewed_until = (local_today() + timedelta(days=90)).isoformat()
    renewed = await client.patch(
        f"{API}/devices/{sim}",
        headers=scene.officer.headers,
        json={
            "plan_expires_on": renewed_until,
            "plan_name": "Data 4G 3 tháng",
            "msisdn": "0912 777 888",
            "plan_quota_gb": 4.5,
        },
    )
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert (body["plan_expires_on"], body["msisdn"], body["plan_quota_gb"]) == (
        renewed_until,
        "+84912777888",
        "4.50",
    )
    assert await connected() == 1
    edited = [e for e in await scene.events(sim) if e["action"] == "edited"][-1]
    assert edited["data"]["changed"]["plan_expires_on"] == [yesterday, renewed_until]
    # Number and plan fields belong to SIMs.
    refused = await client.patch(
        f"{API}/devices/{tablet}", headers=scene.officer.headers, json={"plan_name": "x"}
    )
    assert_problem(refused, 422)

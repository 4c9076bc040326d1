"""The device state machine (SPEC §3). Every transition checks the current status and the
caller's role, changes the device, moves an installed SIM along, and writes the events —
all in the request's one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Role
from devicetrack.devices import repository as repo
from devicetrack.devices.models import Device
from devicetrack.devices.schemas import ActionBody
from devicetrack.devices.values import DeviceStatus as S
from devicetrack.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from devicetrack.schools.models import School

STAFF = Role.SCHOOL_STAFF
OFFICER = Role.PROVINCE_OFFICER
HELD = (S.IN_STOCK, S.ALLOCATED, S.AT_SCHOOL, S.ASSIGNED, S.IN_REPAIR)

# Ends the open loan of a device (session, device, actor id, note). Loans belong to students/,
# which sits above devices/, so the caller hands it in: custody.service.apply does.
EndLoan = Callable[[AsyncSession, Device, int, str], Awaitable[object]]


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    roles: frozenset[str]  # admins may do everything besides these
    event: str


def _t(action: str, sources: tuple[str, ...] | set[str], roles: set[str], event: str) -> Transition:
    return Transition(action, frozenset(sources), frozenset(roles), event)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("allocate", (S.IN_STOCK,), {OFFICER}, "allocated"),
        _t("receive", (S.ALLOCATED,), {STAFF}, "received"),
        _t("send-to-repair", (S.AT_SCHOOL, S.IN_STOCK), {STAFF, OFFICER}, "sent-to-repair"),
        _t("back-from-repair", (S.IN_REPAIR,), {STAFF, OFFICER}, "back-from-repair"),
        _t("report-lost", HELD, {STAFF, OFFICER}, "reported-lost"),
        _t("report-stolen", HELD, {STAFF, OFFICER}, "reported-stolen"),
        _t("found", (S.LOST, S.STOLEN), {STAFF, OFFICER}, "found"),
        _t("transfer", (S.AT_SCHOOL,), {OFFICER}, "transferred"),
        _t(
            "retire",
            (S.IN_STOCK, S.ALLOCATED, S.AT_SCHOOL, S.IN_REPAIR, S.LOST, S.STOLEN),
            {OFFICER},
            "retired",
        ),
    )
}


def allowed_actions(status: str) -> list[str]:
    return sorted(a for a, t in TRANSITIONS.items() if status in t.sources)


def refuse_transition(device: Device, action: str, principal: Principal) -> Conflict:
    """The refusal names the current status and what this caller could do instead."""
    allowed = [
        a
        for a in allowed_actions(device.status)
        if principal.is_admin or principal.role in TRANSITIONS[a].roles
    ]
    lends = principal.is_admin or principal.is_school_staff
    if device.status == "at_school" and lends:
        allowed = sorted([*allowed, "assign (POST /assignments)"])
    if device.status == "assigned" and lends:
        allowed = sorted([*allowed, "return (POST /assignments/{id}/return)"])
    return Conflict(
        f"Cannot {action} a device that is {device.status}.",
        extra={"current_status": device.status, "allowed_actions": allowed},
    )


async def ensure_not_installed(session: AsyncSession, device: Device, action: str) -> None:
    """A SIM installed in a device moves with that device (SPEC §3), never on its own."""
    if device.installed_in_id is None:
        return
    host = await repo.get_by_id(session, device.installed_in_id)
    raise Conflict(
        f"Cannot {action} this SIM on its own: it is installed in {host.asset_tag} and moves"
        " with it. Act on that device, or remove the SIM from it first.",
        extra={
            "current_status": device.status,
            "installed_in": host.asset_tag,
            "allowed_actions": [],
        },
    )


def ensure_role(principal: Principal, transition: Transition, device: Device) -> None:
    if principal.is_admin:
        return
    if principal.role not in transition.roles:
        raise Forbidden(f"Your role cannot {transition.action} devices.")
    if principal.is_school_staff and device.school_id not in principal.school_ids:
        raise Forbidden("The device is not at one of your schools.")


async def target_school(
    session: AsyncSession, principal: Principal, device: Device, school_id: int | None
) -> School:
    if school_id is None:
        raise ValidationFailed(
            "Name the school.", errors=[FieldError(field="school_id", message="required")]
        )
    school = await session.get(School, school_id)
    if school is None or not (principal.is_admin or school.province_code == device.province_code):
        raise NotFound(f"No school {school_id} in province {device.province_code}.")
    if school.province_code != device.province_code:
        raise Conflict("Devices stay in their donation's province.")
    if not school.active:
        raise Conflict("The school is inactive.")
    return school


async def move_installed_sim(
    session: AsyncSession, device: Device, actor_id: int, event: str
) -> None:
    """A SIM installed in a device goes where the device goes (SPEC §3)."""
    sim = (
        await session.execute(
            select(Device).where(Device.installed_in_id == device.id).with_for_update()
        )
    ).scalar_one_or_none()
    if sim is None or (sim.status, sim.school_id, sim.student_id) == (
        device.status,
        device.school_id,
        device.student_id,
    ):
        return
    before = sim.status
    sim.status, sim.school_id, sim.student_id = device.status, device.school_id, device.student_id
    await session.flush()
    await repo.add_event(
        session,
        device_id=sim.id,
        actor_id=actor_id or None,
        action=event,
        from_status=before,
        to_status=sim.status,
        school_id=sim.school_id,
        student_id=sim.student_id,
        condition=sim.condition,
        data={"with_device": device.asset_tag},
    )


async def apply(
    session: AsyncSession,
    principal: Principal,
    device: Device,
    action: str,
    body: ActionBody,
    *,
    extra: dict[str, Any] | None = None,
    end_loan: EndLoan | None = None,
) -> int:
    """Run one §3 transition on a device locked FOR UPDATE; return the event id. A lost or
    stolen device that was lent leaves its student: `end_loan` closes the loan."""
    transition = TRANSITIONS[action]
    ensure_role(principal, transition, device)
    if device.status not in transition.sources:
        raise refuse_transition(device, action, principal)
    before, student_before = device.status, device.student_id
    data: dict[str, Any] = dict(extra or {})
    if action == "allocate":
        school = await target_school(session, principal, device, body.school_id)
        device.school_id, device.status = school.id, "allocated"
    elif action == "receive":
        device.status = "at_school"
    elif action == "send-to-repair":
        device.repair_return_status, device.status = device.status, "in_repair"
    elif action == "back-from-repair":
        device.status = device.repair_return_status or (
            "at_school" if device.school_id else "in_stock"
        )
        device.repair_return_status = None
    elif action in ("report-lost", "report-stolen"):
        if device.status == "assigned":
            if end_loan is None:
                raise RuntimeError(f"{action} of a lent device needs end_loan")
            await end_loan(session, device, principal.user_id, f"closed: {transition.event}")
            device.student_id = None
        device.status = "lost" if action == "report-lost" else "stolen"
    elif action == "found":
        device.status = "at_school" if device.school_id else "in_stock"
    elif action == "transfer":
        school = await target_school(session, principal, device, body.school_id)
        if school.id == device.school_id:
            raise Conflict("The device is already at that school.")
        data["from_school"] = device.school_id
        device.school_id, device.status = school.id, "allocated"
    elif action == "retire":
        data["reason"] = body.reason or body.note
        device.status = "retired"
    if body.condition is not None:
        device.condition = body.condition
    await session.flush()
    event_id = await repo.add_event(
        session,
        device_id=device.id,
        actor_id=principal.user_id or None,
        action=transition.event,
        from_status=before,
        to_status=device.status,
        school_id=device.school_id,
        student_id=student_before,
        condition=device.condition,
        note=body.note,
        data=data or None,
    )
    await move_installed_sim(session, device, principal.user_id, transition.event)
    return event_id

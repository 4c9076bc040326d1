"""The device state machine (SPEC §3). Every transition checks the current status and the
caller's role, changes the device, moves an installed SIM along, and writes the events —
all in the request's one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Role
from devicetrack.devices import repository as repo
from devicetrack.devices.models import Device
from devicetrack.devices.schemas import ActionBody
from devicetrack.devices.values import LOCKED, SIM_HOSTS
from devicetrack.devices.values import DeviceStatus as S
from devicetrack.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from devicetrack.i18n import N_, Term
from devicetrack.schools.models import School

STAFF = Role.SCHOOL_STAFF
OFFICER = Role.PROVINCE_OFFICER
DONOR = Role.DONOR

# Two sets of statuses with two meanings; neither is the other.
# IN_HAND: the project has the device in hand (in stock, on its way to, at or lent by a school,
# or being repaired): a device in one of these can be reported lost or stolen.
IN_HAND = frozenset({S.IN_STOCK, S.ALLOCATED, S.AT_SCHOOL, S.ASSIGNED, S.IN_REPAIR})
# SCHOOL_HELD: the device counts as held by its school: `school_counts.devices_held`, the
# coverage figures and the quota's held count. IN_HAND without the province's stock. The
# counter triggers (migration 0004, `HELD` there) spell it in SQL;
# tests/test_state_machine.py compares it with the trigger functions in the live database.
SCHOOL_HELD = IN_HAND - {S.IN_STOCK}
# Where a device is out of reach: no SIM is installed or wiped there.
GONE = frozenset({S.RETIRED, S.LOST, S.STOLEN})

# Ends the open loan of a device (session, device, actor id, note). Loans belong to students/,
# which sits above devices/, so the caller hands it in: custody.service.apply does.
EndLoan = Callable[[AsyncSession, Device, int, str], Awaitable[object]]

# The route of the actions performed at POST /devices/{asset_tag}/actions/{action}.
DEVICE_ACTIONS = "POST /devices/{asset_tag}/actions/{action}"


@dataclass(frozen=True)
class Transition:
    """One action of SPEC §3: the statuses it starts from, the roles that may take it
    (admins may do everything besides these; the services narrow it to the caller's own
    schools, donor or province), the event it writes, and the API route that performs it.
    An action that leaves the status as it is (`changes_status=False`: SIM pairing, wipe) is
    not offered among a device's allowed actions. An action that hands the device on to
    someone who must set it up (`refused_while_locked`: allocate, assign) is refused while
    an activation lock holds it."""

    action: str
    sources: frozenset[str]
    roles: frozenset[str]
    event: str
    route: str = DEVICE_ACTIONS
    changes_status: bool = True
    refused_while_locked: bool = False

    @property
    def label(self) -> str:
        """The name a 409 offers: the action, and its route when it is not a device action."""
        if self.route == DEVICE_ACTIONS:
            return self.action
        return f"{self.action} ({self.route})"


def _t(
    action: str,
    sources: Iterable[str],
    roles: set[str],
    event: str,
    route: str = DEVICE_ACTIONS,
    *,
    changes_status: bool = True,
    refused_while_locked: bool = False,
) -> Transition:
    return Transition(
        action,
        frozenset(sources),
        frozenset(roles),
        event,
        route,
        changes_status,
        refused_while_locked,
    )


ALL = frozenset(S)

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # A device comes into being in stock (devices/intake.py); it has no status before.
        _t("register", (), {OFFICER, DONOR}, "registered", "POST /donations/{id}/devices"),
        _t("allocate", (S.IN_STOCK,), {OFFICER}, "allocated", refused_while_locked=True),
        _t("receive", (S.ALLOCATED,), {STAFF}, "received"),
        # Loans: students/assignments.py (the loan record lives above devices/).
        _t(
            "assign",
            (S.AT_SCHOOL,),
            {STAFF},
            "assigned",
            "POST /assignments",
            refused_while_locked=True,
        ),
        _t("return", (S.ASSIGNED,), {STAFF}, "returned", "POST /assignments/{id}/return"),
        _t("send-to-repair", (S.AT_SCHOOL, S.IN_STOCK), {STAFF, OFFICER}, "sent-to-repair"),
        _t("back-from-repair", (S.IN_REPAIR,), {STAFF, OFFICER}, "back-from-repair"),
        _t("report-lost", IN_HAND, {STAFF, OFFICER}, "reported-lost"),
        _t("report-stolen", IN_HAND, {STAFF, OFFICER}, "reported-stolen"),
        _t("found", (S.LOST, S.STOLEN), {STAFF, OFFICER}, "found"),
        _t("transfer", (S.AT_SCHOOL,), {OFFICER}, "transferred"),
        _t("retire", ALL - {S.ASSIGNED, S.RETIRED}, {OFFICER}, "retired"),
        # Upkeep that leaves the status as it is (devices/service.py; who may edit which
        # device is devices.service.ensure_can_edit).
        _t("wipe", ALL - GONE, {STAFF, OFFICER, DONOR}, "wiped", changes_status=False),
        _t(
            "install-sim",
            ALL - GONE,
            {STAFF, OFFICER, DONOR},
            "sim-installed",
            changes_status=False,
        ),
        _t("remove-sim", ALL, {STAFF, OFFICER, DONOR}, "sim-removed", changes_status=False),
    )
}


class HasStatus(Protocol):
    @property
    def status(self) -> str: ...


def may(principal: Principal, transition: Transition) -> bool:
    return principal.is_admin or principal.role in transition.roles


def actions_for(principal: Principal, device: HasStatus) -> list[Transition]:
    """The status-changing actions this caller's role may take on the device as it is now,
    ordered by label: the `allowed_actions` of a refused transition (409) and the buttons of
    the device page both come from here."""
    return sorted(
        (
            t
            for t in TRANSITIONS.values()
            if t.changes_status and device.status in t.sources and may(principal, t)
        ),
        key=lambda t: t.label,
    )


class SimHost(HasStatus, Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def installed_sim(self) -> str | None: ...


def sim_pairing_for(principal: Principal, device: SimHost) -> str | None:
    """The SIM action a device's page offers, if any: remove the SIM the device holds, or
    install one. Offered where a SIM can be installed (not on a device that is gone: lost,
    stolen, retired) to the roles that pair SIMs; the API still takes a SIM out of a device
    that is gone."""
    if device.kind not in SIM_HOSTS:
        return None
    action = "remove-sim" if device.installed_sim else "install-sim"
    if device.status not in TRANSITIONS["install-sim"].sources:
        return None
    return action if may(principal, TRANSITIONS[action]) else None


def refuse_transition(device: Device, action: str, principal: Principal) -> Conflict:
    """The refusal names the current status and what this caller could do instead."""
    return Conflict(
        N_("Cannot {action} a device that is {status}."),
        extra={
            "current_status": device.status,
            "allowed_actions": [t.label for t in actions_for(principal, device)],
        },
        action=Term(action),
        status=Term(device.status),
    )


class HasLock(HasStatus, Protocol):
    @property
    def activation_lock(self) -> str: ...


LOCKED_MESSAGE = N_(
    "The device is still locked to an account (iCloud, Google or MDM); remove the lock and "
    "mark it clear before lending or allocating it."
)


def ensure_unlocked(device: HasLock, action: str, principal: Principal) -> None:
    """A device locked to its former owner's account cannot be set up by the next one:
    allocating or lending it waits until the lock is cleared (`activation_lock: clear`)."""
    if TRANSITIONS[action].refused_while_locked and device.activation_lock in LOCKED:
        raise Conflict(
            LOCKED_MESSAGE,
            errors=[FieldError(field="activation_lock", message=Term(device.activation_lock))],
            extra={
                "current_status": device.status,
                "activation_lock": device.activation_lock,
                "allowed_actions": [t.label for t in actions_for(principal, device)],
            },
        )


async def ensure_not_installed(session: AsyncSession, device: Device, action: str) -> None:
    """A SIM installed in a device moves with that device (SPEC §3), never on its own."""
    if device.installed_in_id is None:
        return
    host = await repo.get_by_id(session, device.installed_in_id)
    raise Conflict(
        N_(
            "Cannot {action} this SIM on its own: it is installed in {tag} and moves"
            " with it. Act on that device, or remove the SIM from it first."
        ),
        extra={
            "current_status": device.status,
            "installed_in": host.asset_tag,
            "allowed_actions": [],
        },
        action=Term(action),
        tag=host.asset_tag,
    )


def ensure_role(principal: Principal, transition: Transition, device: Device) -> None:
    if principal.is_admin:
        return
    if principal.role not in transition.roles:
        raise Forbidden(N_("Your role cannot {action} devices."), action=Term(transition.action))
    if principal.is_school_staff and device.school_id not in principal.school_ids:
        raise Forbidden(N_("The device is not at one of your schools."))


async def check(
    session: AsyncSession, principal: Principal, device: Device, action: str
) -> Transition:
    """The checks every status-changing action on a device runs first, in this order: the
    caller's role (and school), a SIM installed elsewhere, then the current status."""
    transition = TRANSITIONS[action]
    ensure_role(principal, transition, device)
    await ensure_not_installed(session, device, action)
    if device.status not in transition.sources:
        raise refuse_transition(device, action, principal)
    ensure_unlocked(device, action, principal)
    return transition


async def target_school(
    session: AsyncSession, principal: Principal, device: Device, school_id: int | None
) -> School:
    if school_id is None:
        raise ValidationFailed(
            N_("Name the school."), errors=[FieldError(field="school_id", message=N_("required"))]
        )
    school = await session.get(School, school_id)
    if school is None or not (principal.is_admin or school.province_code == device.province_code):
        raise NotFound(
            N_("No school {id} in province {code}."), id=school_id, code=device.province_code
        )
    if school.province_code != device.province_code:
        raise Conflict(N_("Devices stay in their donation's province."))
    if not school.active:
        raise Conflict(N_("The school is inactive."))
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
    ensure_unlocked(device, action, principal)
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
            raise Conflict(N_("The device is already at that school."))
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

"""POST /devices/{asset_tag}/actions/{action}: the §3 lifecycle actions and SIM pairing,
and a device's history. Each action changes the device and writes its event(s) in the
request's transaction.

This sits above devices/, allocations/ and students/ because an action reaches all three:
allocating keeps the allocation record and quotas (allocations), a lost or stolen device
ends its loan (students), and the history hides the notes of erased students."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations.schemas import AllocationCreate
from devicetrack.allocations.service import allocate
from devicetrack.auth.principal import Principal
from devicetrack.db.counters import relock
from devicetrack.devices import lifecycle, service
from devicetrack.devices.models import Device
from devicetrack.devices.schemas import ActionBody, ActionResult, EventRead
from devicetrack.errors import FieldError, NotFound, ValidationFailed, echo
from devicetrack.i18n import N_
from devicetrack.students import repository as students

# The actions of lifecycle.TRANSITIONS that leave the status as it is, and who performs them.
PAIRING = {
    "install-sim": service.install_sim,
    "remove-sim": service.remove_sim,
    "wipe": service.mark_wiped,
}
# What POST /devices/{asset_tag}/actions/{action} accepts: every action of the table on that
# route (assign and return have their own routes, register is an intake).
ACTIONS = sorted(a for a, t in lifecycle.TRANSITIONS.items() if t.route == lifecycle.DEVICE_ACTIONS)


async def apply(
    session: AsyncSession,
    principal: Principal,
    device: Device,
    action: str,
    body: ActionBody,
    *,
    extra: dict[str, Any] | None = None,
) -> int:
    """lifecycle.apply with the loan of a lost or stolen device ended (students)."""
    return await lifecycle.apply(
        session, principal, device, action, body, extra=extra, end_loan=students.close_open_loan
    )


async def list_events(
    session: AsyncSession, principal: Principal, code: str, *, after_id: int | None, limit: int
) -> list[EventRead]:
    return await service.list_events(
        session,
        principal,
        code,
        after_id=after_id,
        limit=limit,
        erased_among=students.erased_among,
    )


async def perform(
    session: AsyncSession, principal: Principal, code: str, action: str, body: ActionBody
) -> ActionResult:
    if action not in ACTIONS:
        raise NotFound(
            N_("Unknown action {action!r}."), extra={"actions": ACTIONS}, action=echo(action)
        )
    if action == "allocate":
        # Allocation has its own rules (quotas, an allocation record): one path for both.
        device = await service.get_device(session, principal, code)
        # The role and the current status first, as for every other action: a refused
        # transition names the current status and the allowed actions (SPEC §3).
        await lifecycle.check(session, principal, device, action)
        if body.school_id is None:
            raise ValidationFailed(
                N_("Name the school."),
                errors=[FieldError(field="school_id", message=N_("required"))],
            )
        result = await allocate(
            session,
            principal,
            AllocationCreate(
                school_id=body.school_id,
                asset_tags=[device.asset_tag],
                override=body.override,
                note=body.note,
            ),
        )
        del result
        event_id = await service.last_event_id(session, device.id or 0)
    else:
        # Scope first (a plain read answers 404 out of scope); then the counter rows of every
        # school the action touches (db/counters.py); then the device itself.
        seen = await service.get_device(session, principal, code)
        device = await relock(
            session,
            seen.school_id,
            lambda: service.get_device(session, principal, code, for_update=True),
            lambda d: d.school_id,
            also=(body.school_id,),
        )
        if action in PAIRING:
            service.ensure_can_edit(principal, device)
            event_id = await PAIRING[action](session, principal, device, body)
        else:
            await lifecycle.check(session, principal, device, action)
            event_id = await apply(session, principal, device, action, body)
    return ActionResult(
        device=await service.read_device(session, principal, device.asset_tag),
        action=action,
        event_id=event_id,
    )

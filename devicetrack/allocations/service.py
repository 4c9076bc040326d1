"""Allocating stock to schools (by tags, or by kind and quantity from the oldest stock),
school quotas, and receipt of allocated devices at the school."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations import repository as repo
from devicetrack.allocations.models import Allocation
from devicetrack.allocations.schemas import (
    AllocatedDevice,
    AllocationCreate,
    AllocationRead,
    AllocationSummary,
    Discrepancy,
    QuotaRead,
    QuotaWrite,
    ReceiptCreate,
    ReceiptResult,
)
from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import can_see_school
from devicetrack.db.counters import lock_school_counters
from devicetrack.devices import lifecycle
from devicetrack.devices.models import Device
from devicetrack.devices.schemas import ActionBody
from devicetrack.devices.tags import WRONG_CHECK, parse_tag
from devicetrack.devices.values import LOCKED
from devicetrack.donations import service as donations
from devicetrack.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from devicetrack.i18n import N_, Message, N_plural, Term
from devicetrack.schools import service as schools
from devicetrack.schools.models import School
from devicetrack.schools.repository import visible_schools


def _ensure_allocator(principal: Principal, school: School) -> None:
    if principal.is_admin:
        return
    if principal.is_province_officer and school.province_code == principal.province_code:
        return
    raise Forbidden(N_("Only province officers allocate stock to schools."))


def ensure_may_allocate(principal: Principal) -> None:
    """The allocation form is for the roles the lifecycle lets allocate; which schools is
    the school's own scope (read first) and `_ensure_allocator` when allocating."""
    if not lifecycle.may(principal, lifecycle.TRANSITIONS["allocate"]):
        raise Forbidden(N_("Province officers allocate devices to schools."))


async def _check_quota(
    session: AsyncSession, school: School, devices: list[Device], override: bool
) -> None:
    quotas = await repo.quotas_of(session, school.id or 0)
    if not quotas:
        return
    adding = Counter(d.kind for d in devices)
    adding_by_donation = Counter((d.kind, d.donation_id) for d in devices)
    over = []
    for quota in quotas:
        new = (
            adding[quota.kind]
            if quota.donation_id is None
            else adding_by_donation[(quota.kind, quota.donation_id)]
        )
        if not new:
            continue
        held = await repo.held_count(session, school.id or 0, quota.kind, quota.donation_id)
        if held + new > quota.quantity:
            over.append(
                Message(
                    N_("{kind}: holds {held}, quota {quota}, adding {adding} (donation {donation})")
                    if quota.donation_id
                    else N_("{kind}: holds {held}, quota {quota}, adding {adding}"),
                    kind=Term(quota.kind),
                    held=held,
                    quota=quota.quantity,
                    adding=new,
                    donation=quota.donation_id,
                )
            )
    if over and not override:
        raise Conflict(
            N_("The allocation goes over the school's quota; send override=true to allow it."),
            extra={"over_quota": over},
        )


async def allocate(
    session: AsyncSession, principal: Principal, data: AllocationCreate
) -> AllocationRead:
    school = await schools.get_school(session, principal, data.school_id)
    _ensure_allocator(principal, school)
    await lock_school_counters(session, school.id)  # see db/counters.py
    by_tags = data.asset_tags is not None
    if by_tags == (data.kind is not None or data.quantity is not None):
        raise ValidationFailed(
            N_("Give either asset_tags, or kind and quantity."),
            errors=[FieldError(field="asset_tags", message=N_("or kind + quantity, not both"))],
        )
    if by_tags:
        devices = await _lock_named(session, school, data.asset_tags or [])
    else:
        if data.kind is None or data.quantity is None:
            raise ValidationFailed(
                N_("Give kind and quantity together."),
                errors=[
                    FieldError(field="quantity" if data.kind else "kind", message=N_("required"))
                ],
            )
        devices = await repo.lock_stock(
            session, school.province_code, data.kind, data.quantity, data.donation_id
        )
        if len(devices) < data.quantity:
            raise Conflict(
                N_plural(
                    "Only {n} {kind} device is in stock and free in that donation; {asked} "
                    "asked. Nothing was allocated.",
                    "Only {n} {kind} devices are in stock and free in that donation; {asked} "
                    "asked. Nothing was allocated.",
                )
                if data.donation_id
                else N_plural(
                    "Only {n} {kind} device is in stock and free; {asked} asked. Nothing was "
                    "allocated.",
                    "Only {n} {kind} devices are in stock and free; {asked} asked. Nothing was "
                    "allocated.",
                ),
                extra={"available": len(devices)},
                n=len(devices),
                kind=Term(data.kind),
                asked=data.quantity,
            )
    await _check_quota(session, school, devices, data.override)
    body = ActionBody(school_id=school.id, note=data.note)
    for device in devices:
        await lifecycle.apply(session, principal, device, "allocate", body)
    allocation = await repo.add_allocation(
        session,
        Allocation(
            school_id=school.id or 0,
            province_code=school.province_code,
            kind=data.kind,
            quantity=len(devices),
            donation_id=data.donation_id,
            override=data.override,
            note=data.note,
            created_by=principal.user_id or None,
        ),
        [d.id or 0 for d in devices],
    )
    return await read_allocation(session, principal, allocation.id or 0)


async def _lock_named(session: AsyncSession, school: School, codes: list[str]) -> list[Device]:
    if not codes:
        raise ValidationFailed(
            N_("No asset tags given."), errors=[FieldError(field="asset_tags", message=N_("empty"))]
        )
    errors: list[FieldError] = []
    tags: list[str] = []
    for i, code in enumerate(codes):
        parsed = parse_tag(code)
        if parsed is None or not parsed.check_ok:
            message = (
                Message(N_("bad tag {code!r}: did you mean {tag}?"), tag=parsed.expected)
                if parsed
                else Message(N_("bad tag {code!r}"))
            )
            errors.append(FieldError(field=f"asset_tags[{i}]", message=Message(message, code=code)))
        elif parsed.tag in tags:
            errors.append(FieldError(field=f"asset_tags[{i}]", message=N_("listed twice")))
        else:
            tags.append(parsed.tag)
    if errors:
        raise ValidationFailed(N_("Some tags are not valid."), errors=errors)
    devices = await repo.lock_by_tags(session, tags)
    found = {d.asset_tag: d for d in devices if d.province_code == school.province_code}
    problems = [
        Message(N_("{tag}: no such device in province {code}"), tag=t, code=school.province_code)
        for t in tags
        if t not in found
    ]
    allocatable = lifecycle.TRANSITIONS["allocate"].sources
    problems += [
        Message(N_("{tag}: {status}"), tag=d.asset_tag, status=Term(d.status))
        for d in found.values()
        if d.status not in allocatable
    ]
    problems += [
        Message(N_("{tag}: installed in a device; allocate that device"), tag=d.asset_tag)
        for d in found.values()
        if d.installed_in_id is not None
    ]
    problems += [
        Message(N_("{tag}: locked to an account; clear the activation lock first"), tag=d.asset_tag)
        for d in found.values()
        if d.activation_lock in LOCKED
    ]
    if problems:
        raise Conflict(
            N_("Some devices cannot be allocated; nothing was allocated."),
            extra={"problems": problems},
        )
    return [found[t] for t in tags]


async def read_allocation(
    session: AsyncSession, principal: Principal, allocation_id: int
) -> AllocationRead:
    allocation = await repo.get_allocation(session, allocation_id)
    school = await session.get(School, allocation.school_id) if allocation else None
    if allocation is None or school is None or not can_see_school(principal, school):
        raise NotFound(N_("No allocation {id}."), id=allocation_id)
    devices = await repo.allocation_devices(session, allocation_id)
    items = [
        AllocatedDevice(
            asset_tag=d.asset_tag,
            kind=d.kind,
            status=d.status,
            received=d.school_id == allocation.school_id and d.status != "allocated",
        )
        for d in devices
    ]
    assert allocation.id is not None and allocation.created_at is not None
    return AllocationRead(
        id=allocation.id,
        school_id=allocation.school_id,
        province_code=allocation.province_code,
        kind=allocation.kind,
        quantity=allocation.quantity,
        donation_id=allocation.donation_id,
        override=allocation.override,
        note=allocation.note,
        created_at=allocation.created_at,
        received=sum(1 for i in items if i.received),
        devices=items,
    )


async def list_allocations(
    session: AsyncSession,
    principal: Principal,
    *,
    school_id: int | None,
    after_id: int | None,
    limit: int,
) -> list[AllocationSummary]:
    visible = visible_schools(principal)
    where: list[ColumnElement[bool]] = [Allocation.school_id.in_(select(School.id).where(visible))]
    if school_id is not None:
        where.append(Allocation.school_id == school_id)
    rows = await repo.list_allocations(session, where=where, after_id=after_id, limit=limit)
    return [
        AllocationSummary(
            id=a.id or 0,
            school_id=a.school_id,
            kind=a.kind,
            quantity=a.quantity,
            received=r,
            created_at=_created_at(a),
        )
        for a, r in rows
    ]


def _created_at(a: Allocation) -> datetime:
    assert a.created_at is not None  # set by the database on insert
    return a.created_at


async def list_quotas(
    session: AsyncSession, principal: Principal, school_id: int
) -> list[QuotaRead]:
    school = await schools.get_school(session, principal, school_id)
    quotas = await repo.quotas_of(session, school.id or 0)
    return [
        QuotaRead(
            kind=q.kind,
            quantity=q.quantity,
            donation_id=q.donation_id,
            held=await repo.held_count(session, school_id, q.kind, q.donation_id),
        )
        for q in quotas
    ]


async def _ensure_quota_donation(
    session: AsyncSession, principal: Principal, school: School, donation_id: int
) -> None:
    """A quota may count one donation's devices only if that donation's stock can reach
    the school: a donation of the school's province the caller may see. A missing donation,
    one the caller may not see and one of another province get the same answer, so the
    refusal tells nothing about which ids exist (and no foreign-key error escapes)."""
    try:
        donation = await donations.get_donation(session, principal, donation_id)
    except NotFound:
        donation = None
    if donation is None or donation.province_code != school.province_code:
        raise ValidationFailed(
            N_("No donation {id} in this school's province."),
            errors=[
                FieldError(field="donation_id", message=N_("no such donation in the province"))
            ],
            id=donation_id,
        )


async def set_quota(
    session: AsyncSession, principal: Principal, school_id: int, data: QuotaWrite
) -> list[QuotaRead]:
    school = await schools.get_school(session, principal, school_id)
    _ensure_allocator(principal, school)
    if data.donation_id is not None:
        await _ensure_quota_donation(session, principal, school, data.donation_id)
    await repo.upsert_quota(session, school_id, data.kind, data.donation_id, data.quantity)
    return await list_quotas(session, principal, school_id)


async def receive(
    session: AsyncSession, principal: Principal, school_id: int, data: ReceiptCreate
) -> ReceiptResult:
    """Scanned tags at a school: each allocated to this school becomes at_school; every
    other tag is reported back and nothing changes for it."""
    school = await schools.get_school(session, principal, school_id)
    if not (principal.is_admin or principal.is_school_staff):
        raise Forbidden(N_("Devices are received by the school's staff."))
    await lock_school_counters(session, school_id)  # see db/counters.py
    received: list[str] = []
    discrepancies: list[Discrepancy] = []
    tags: list[str] = []
    for code in data.asset_tags:
        parsed = parse_tag(code)
        if parsed is None:
            discrepancies.append(Discrepancy(asset_tag=code, reason=N_("not an asset tag")))
        elif not parsed.check_ok:
            discrepancies.append(
                Discrepancy(asset_tag=code, reason=Message(WRONG_CHECK, tag=parsed.expected))
            )
        elif parsed.tag in tags:
            discrepancies.append(Discrepancy(asset_tag=parsed.tag, reason=N_("scanned twice")))
        else:
            tags.append(parsed.tag)
    devices = {d.asset_tag: d for d in await repo.lock_by_tags(session, tags)}
    body = ActionBody(note=data.note)
    receivable = lifecycle.TRANSITIONS["receive"].sources
    for tag in tags:
        device = devices.get(tag)
        if device is None or device.school_id != school.id or device.status not in receivable:
            reason: str = N_("not allocated to this school")
            if device is not None and device.school_id == school.id:
                reason = (
                    Message(N_("already {status} here"), status=Term(device.status))
                    if device.status not in receivable
                    else reason
                )
            discrepancies.append(Discrepancy(asset_tag=tag, reason=reason))
            continue
        if device.installed_in_id is not None:
            # It arrives with the device it is installed in (SPEC §3), not on its own.
            host = await session.get(Device, device.installed_in_id)
            discrepancies.append(
                Discrepancy(
                    asset_tag=tag,
                    reason=Message(
                        N_("installed in {tag}; scan that"), tag=host.asset_tag if host else "–"
                    ),
                )
            )
            continue
        await lifecycle.apply(session, principal, device, "receive", body)
        received.append(tag)
    return ReceiptResult(received=received, discrepancies=discrepancies)


async def awaiting_receipt(
    session: AsyncSession, principal: Principal, school_id: int
) -> list[tuple[str, str]]:
    await schools.get_school(session, principal, school_id)
    return await repo.awaiting_receipt(session, school_id)

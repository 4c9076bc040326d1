"""Device reads, edits, history and SIM pairing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import can_see_device
from devicetrack.common.convert import given
from devicetrack.common.dates import check_event_dates
from devicetrack.common.workers import off_loop
from devicetrack.db.counters import relock
from devicetrack.devices import lifecycle, photos
from devicetrack.devices import repository as repo
from devicetrack.devices.identity import check_iccid, normalise_msisdn
from devicetrack.devices.models import Device, DeviceEvent
from devicetrack.devices.repository import visible_devices
from devicetrack.devices.schemas import (
    ActionBody,
    DeviceRead,
    DeviceUpdate,
    EventRead,
    PhotoScan,
    ScannedCode,
)
from devicetrack.devices.tags import parse_tag
from devicetrack.devices.values import SIM_HOSTS, ActivationLock
from devicetrack.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
    echo,
)
from devicetrack.i18n import N_, Term, translate


def may_read_text(principal: Principal, *, ever_lent: bool, school_id: int | None) -> bool:
    """Whether this caller may read the free text typed about a device (its note, an
    event's note, a retirement's reason) written while it was at `school_id`.

    Whoever lends, recovers or repairs a device may well name the student in it ("Lò Thị
    Lan found it"), so free text is shown only to those who may see the student:
    - admins, and the staff of the school where it was written (not the staff of a school
      the device moved to later);
    - province officers only on a device never lent to anyone (there the text is about the
      device: "screen broken");
    - donors never."""
    if principal.is_donor:
        return False
    if principal.is_province_officer:
        return not ever_lent
    if principal.is_school_staff:
        return school_id is None or school_id in principal.school_ids
    return True


def device_read(
    device: Device, installed_in: str | None, installed_sim: str | None, *, note_shown: bool
) -> DeviceRead:
    assert device.id is not None and device.received_at and device.updated_at
    return DeviceRead(
        id=device.id,
        asset_tag=device.asset_tag,
        kind=device.kind,
        make=device.make,
        model=device.model,
        serial=device.serial,
        imei=device.imei,
        status=device.status,
        condition=device.condition,
        province_code=device.province_code,
        donation_id=device.donation_id,
        donor_id=device.donor_id,
        school_id=device.school_id,
        received_at=device.received_at,
        last_seen_at=device.last_seen_at,
        warranty_until=device.warranty_until,
        note=device.note if note_shown else None,
        iccid=device.iccid,
        msisdn=device.msisdn,
        carrier=device.carrier,
        plan_name=device.plan_name,
        plan_quota_gb=device.plan_quota_gb,
        plan_expires_on=device.plan_expires_on,
        paid_by=device.paid_by,
        installed_in=installed_in,
        needs_wipe=device.needs_wipe,
        installed_sim=installed_sim,
        updated_at=device.updated_at,
        activation_lock=ActivationLock(device.activation_lock),
        storage_gb=device.storage_gb,
        ram_gb=device.ram_gb,
        battery_health_pct=device.battery_health_pct,
    )


CHECK_CHARACTER_WRONG = N_("Check character wrong: did you mean {tag}?")
# A scanned code that matches no device, by what it was recognised as.
NOT_FOUND_BY = {
    "imei": N_("No device you can see has this IMEI."),
    "iccid": N_("No device you can see has this ICCID."),
    "serial": N_("No device you can see has this serial."),
}


def canonical_tag(code: str) -> str:
    """The stored form of a tag typed in any case, with or without dashes; 422 when it is
    not a tag or its check character is wrong."""
    parsed = parse_tag(code)
    if parsed is None:
        raise ValidationFailed(
            N_("{code!r} is not an asset tag (like DT11-000123-7)."),
            errors=[FieldError(field="asset_tag", message=N_("not an asset tag"))],
            code=echo(code),
        )
    if not parsed.check_ok:
        raise ValidationFailed(
            CHECK_CHARACTER_WRONG,
            errors=[FieldError(field="asset_tag", message=N_("check character wrong"))],
            extra={"did_you_mean": parsed.expected},
            tag=parsed.expected,
        )
    return parsed.tag


def _visible(principal: Principal, device: Device | None, tag: str) -> Device:
    if device is None or not can_see_device(
        principal, device.province_code, device.school_id, device.donor_id
    ):
        raise NotFound(N_("No device {tag}."), tag=tag)
    return device


async def get_device(
    session: AsyncSession, principal: Principal, code: str, *, for_update: bool = False
) -> Device:
    tag = canonical_tag(code)
    return _visible(principal, await repo.get_by_tag(session, tag, for_update=for_update), tag)


async def lookup_device(pool: asyncpg.Pool, principal: Principal, code: str) -> DeviceRead:
    """The hot path of GET /devices/{tag}: one SELECT on the plain pool."""
    tag = canonical_tag(code)
    row = await repo.device_record(pool, tag)
    if row is None or not can_see_device(
        principal, row["province_code"], row["school_id"], row["donor_id"]
    ):
        raise NotFound(N_("No device {tag}."), tag=tag)
    return _record_read(principal, row)


def _record_read(principal: Principal, row: asyncpg.Record) -> DeviceRead:
    """A DeviceRead from the plain pool's row, its note shown only to those who may read it."""
    fields = dict(row.items())
    lent = fields.pop("ever_lent")
    if not may_read_text(principal, ever_lent=lent, school_id=fields["school_id"]):
        fields["note"] = None
    return DeviceRead(**fields)


async def read_device(session: AsyncSession, principal: Principal, code: str) -> DeviceRead:
    tag = canonical_tag(code)
    row = await repo.read_by_tag(session, tag)
    device = _visible(principal, row[0] if row else None, tag)
    assert row is not None
    shown = may_read_text(principal, ever_lent=row[3], school_id=device.school_id)
    return device_read(device, row[1], row[2], note_shown=shown)


def device_filters(
    principal: Principal,
    *,
    kind: str | None = None,
    status: str | None = None,
    condition: str | None = None,
    donor: int | None = None,
    donation: int | None = None,
    school: int | None = None,
    province: str | None = None,
    has_sim: bool | None = None,
    q: str | None = None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [visible_devices(principal)]
    if kind:
        where.append(Device.kind == kind)
    if status:
        where.append(Device.status == status)
    if condition:
        where.append(Device.condition == condition)
    if donor is not None:
        where.append(Device.donor_id == donor)
    if donation is not None:
        where.append(Device.donation_id == donation)
    if school is not None:
        where.append(Device.school_id == school)
    if province:
        where.append(Device.province_code == province)
    if has_sim is not None:
        where.append(repo.holds_sim() if has_sim else ~repo.holds_sim())
    if q:
        where.append(repo.search_clause(q))
    return where


async def list_devices(
    session: AsyncSession,
    principal: Principal,
    where: list[ColumnElement[bool]],
    *,
    after_id: int | None,
    limit: int,
) -> list[DeviceRead]:
    rows = await repo.list_devices(session, where=where, after_id=after_id, limit=limit)
    return [
        device_read(
            d, h, s, note_shown=may_read_text(principal, ever_lent=lent, school_id=d.school_id)
        )
        for d, h, s, lent in rows
    ]


# Fields of a SIM's number and plan, editable on SIMs only (a renewal is a new expiry date).
SIM_PLAN_FIELDS = ("msisdn", "carrier", "plan_name", "plan_quota_gb", "plan_expires_on", "paid_by")


def ensure_can_edit(principal: Principal, device: Device) -> None:
    """Edits of a device's description: admins, the province's officers, the donor that
    gave it while it is in the province's stock, and staff of the school that holds it."""
    if principal.is_admin or principal.is_province_officer:
        return  # visibility already restricts these to their own province
    if principal.is_donor:
        if device.status == "in_stock":
            return  # and visibility to the donor's own devices
        raise Forbidden(
            N_("The device has left the province's stock; ask the province to correct it.")
        )
    if principal.is_school_staff and device.school_id in principal.school_ids:
        return
    raise Forbidden(N_("Your role cannot edit this device."))


async def update_device(
    session: AsyncSession, principal: Principal, code: str, data: DeviceUpdate
) -> DeviceRead:
    # One lock order for every write that can move a school's counters (db/counters.py): a
    # SIM's new plan end reaches the connected-students count through the triggers.
    seen = await get_device(session, principal, code)
    device = await relock(
        session,
        seen.school_id,
        lambda: get_device(session, principal, code, for_update=True),
        lambda d: d.school_id,
    )
    ensure_can_edit(principal, device)
    changes = given(data)
    check_event_dates(
        warranty_until=changes.get("warranty_until"), plan_expires_on=changes.get("plan_expires_on")
    )
    # Null on a device that is not a SIM clears what it never had: only values are refused.
    sim_fields = [name for name in SIM_PLAN_FIELDS if changes.get(name) is not None]
    if sim_fields and device.kind != "sim":
        raise ValidationFailed(
            N_("Number and plan fields belong to SIM cards."),
            errors=[FieldError(field=name, message=N_("SIMs only")) for name in sim_fields],
        )
    if changes.get("msisdn") is not None:
        phone, problem = normalise_msisdn(changes["msisdn"])
        if problem:
            raise ValidationFailed(
                N_("The phone number is not a Vietnamese number."),
                errors=[FieldError(field="msisdn", message=problem)],
            )
        changes["msisdn"] = phone
    if changes.get("plan_quota_gb") is not None:
        changes["plan_quota_gb"] = Decimal(str(changes["plan_quota_gb"])).quantize(Decimal("0.01"))
    if changes.get("ram_gb") is not None:
        changes["ram_gb"] = Decimal(str(changes["ram_gb"])).quantize(Decimal("0.1"))
    changed: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if value != getattr(device, name):
            old = getattr(device, name)
            changed[name] = [_jsonable(old), _jsonable(value)]
            setattr(device, name, value)
    if changed:
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:
            if "uq_devices_make_serial" in str(exc.orig):
                raise Conflict(
                    N_("Another device of this make has this serial."),
                    errors=[FieldError(field="serial", message=N_("already registered"))],
                ) from None
            raise
        await repo.add_event(
            session,
            device_id=device.id,
            actor_id=principal.user_id,
            action="edited",
            from_status=device.status,
            to_status=device.status,
            school_id=device.school_id,
            condition=device.condition,
            data={"changed": changed},
        )
    return await read_device(session, principal, device.asset_tag)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if isinstance(value, date) else value


# Which of these students are erased (students.repository.erased_among; students/ sits
# above devices/, so custody.service hands it in).
ErasedAmong = Callable[[AsyncSession, Collection[int]], Awaitable[set[int]]]


# Free text in an event's `data` that staff may have typed, shown or hidden with the note:
# a retirement's reason (it falls back to the note) and an edited device note.
def _without_free_text(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if not data or ("reason" not in data and "note" not in (data.get("changed") or {})):
        return data
    kept = {k: v for k, v in data.items() if k != "reason"}
    if "changed" in kept:
        kept["changed"] = {k: v for k, v in kept["changed"].items() if k != "note"}
    return kept


async def list_events(
    session: AsyncSession,
    principal: Principal,
    code: str,
    *,
    after_id: int | None,
    limit: int,
    erased_among: ErasedAmong,
) -> list[EventRead]:
    """A device's history as this caller may read it.

    An event's note (and free text in `data`) follows may_read_text for the school where
    the event happened, on any event, not only on the loan itself. Nobody reads a note
    once the event's student is erased (the row itself is history and never changes)."""
    device = await get_device(session, principal, code)
    assert device.id is not None
    rows = await repo.list_events(session, device.id, after_id=after_id, limit=limit)
    erased = await erased_among(session, {e.student_id for e, _ in rows if e.student_id})
    hide_student = principal.is_donor or principal.is_province_officer
    lent = principal.is_province_officer and await repo.ever_lent(session, device.id)

    def text_visible(event: DeviceEvent, student_erased: bool) -> bool:
        # A device never lent has no event naming a student (repo.ever_lent).
        return not student_erased and may_read_text(
            principal, ever_lent=lent, school_id=event.school_id
        )

    items = []
    for e, name in rows:
        shown = text_visible(e, e.student_id in erased)
        own_school = not principal.is_school_staff or e.school_id in principal.school_ids
        assert e.id is not None and e.at is not None  # set by the database on insert
        items.append(
            EventRead(
                id=e.id,
                at=e.at,
                action=e.action,
                actor_id=e.actor_id,
                actor_name=name,
                from_status=e.from_status,
                to_status=e.to_status,
                school_id=e.school_id,
                student_id=None if hide_student or not own_school else e.student_id,
                condition=e.condition,
                note=e.note if shown else None,
                data=e.data if shown else _without_free_text(e.data),
            )
        )
    return items


async def install_sim(
    session: AsyncSession, principal: Principal, host: Device, body: ActionBody
) -> int:
    if host.kind not in SIM_HOSTS:
        raise Conflict(
            N_("A SIM can be installed in a {hosts}, not a {kind}."),
            hosts=", ".join(SIM_HOSTS),
            kind=Term(host.kind),
        )
    if host.status not in lifecycle.TRANSITIONS["install-sim"].sources:
        raise Conflict(
            N_("The device is {status}."),
            extra={"current_status": host.status},
            status=Term(host.status),
        )
    if not body.sim:
        raise ValidationFailed(
            N_("Name the SIM by its asset tag or ICCID."),
            errors=[FieldError(field="sim", message=N_("required"))],
        )
    parsed = parse_tag(body.sim)
    if parsed is not None:
        sim = await repo.find_sim(session, tag=canonical_tag(body.sim), iccid=None)
    else:
        iccid, problem, _ = check_iccid(body.sim)
        if problem:
            raise ValidationFailed(
                N_("Not a SIM tag or ICCID."), errors=[FieldError(field="sim", message=problem)]
            )
        sim = await repo.find_sim(session, tag=None, iccid=iccid)
    if sim is None or not can_see_device(principal, sim.province_code, sim.school_id, sim.donor_id):
        raise NotFound(N_("No such SIM."))
    if sim.kind != "sim":
        raise Conflict(N_("{tag} is a {kind}, not a SIM."), tag=sim.asset_tag, kind=Term(sim.kind))
    if sim.status in lifecycle.GONE:
        raise Conflict(N_("The SIM is {status}."), status=Term(sim.status))
    if sim.installed_in_id is not None:
        raise Conflict(N_("The SIM is installed in another device; remove it there first."))
    if await repo.sim_in(session, host.id or 0) is not None:
        raise Conflict(N_("The device already holds a SIM; remove it first."))
    # The SIM now travels with its device: it takes the device's place and status.
    before = sim.status
    sim.installed_in_id = host.id
    sim.school_id = host.school_id
    sim.status = host.status
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            N_("The device or the SIM was paired by another request just now.")
        ) from None
    await repo.add_event(
        session,
        device_id=sim.id,
        actor_id=principal.user_id,
        action="sim-installed",
        from_status=before,
        to_status=sim.status,
        school_id=sim.school_id,
        condition=sim.condition,
        note=body.note,
        data={"installed_in": host.asset_tag},
    )
    return await repo.add_event(
        session,
        device_id=host.id,
        actor_id=principal.user_id,
        action="sim-installed",
        from_status=host.status,
        to_status=host.status,
        school_id=host.school_id,
        condition=host.condition,
        note=body.note,
        data={"sim": sim.asset_tag},
    )


async def remove_sim(
    session: AsyncSession, principal: Principal, host: Device, body: ActionBody
) -> int:
    sim = await repo.sim_in(session, host.id or 0)
    if sim is None:
        raise Conflict(N_("The device holds no SIM."))
    sim.installed_in_id = None
    await session.flush()
    await repo.add_event(
        session,
        device_id=sim.id,
        actor_id=principal.user_id,
        action="sim-removed",
        from_status=sim.status,
        to_status=sim.status,
        school_id=sim.school_id,
        condition=sim.condition,
        note=body.note,
        data={"removed_from": host.asset_tag},
    )
    return await repo.add_event(
        session,
        device_id=host.id,
        actor_id=principal.user_id,
        action="sim-removed",
        from_status=host.status,
        to_status=host.status,
        school_id=host.school_id,
        condition=host.condition,
        note=body.note,
        data={"sim": sim.asset_tag},
    )


async def last_event_id(session: AsyncSession, device_id: int) -> int:
    return await repo.last_event_id(session, device_id)


async def mark_wiped(
    session: AsyncSession, principal: Principal, device: Device, body: ActionBody
) -> int:
    """Record that a returned device was reset, so it can be lent again."""
    if device.status not in lifecycle.TRANSITIONS["wipe"].sources:
        raise Conflict(
            N_("The device is {status}."),
            extra={"current_status": device.status},
            status=Term(device.status),
        )
    was = device.needs_wipe
    device.needs_wipe = False
    await session.flush()
    return await repo.add_event(
        session,
        device_id=device.id,
        actor_id=principal.user_id or None,
        action="wiped",
        from_status=device.status,
        to_status=device.status,
        school_id=device.school_id,
        condition=device.condition,
        note=body.note,
        data={"was_pending": was},
    )


async def scan_lookup(pool: asyncpg.Pool, principal: Principal, code: str) -> DeviceRead:
    """What a scanner or a person typed: a tag in any case, with or without dashes, or an
    IMEI, ICCID or serial. The error says what the code was recognised as."""
    text = code.strip()
    parsed = parse_tag(text)
    if parsed is not None:
        if not parsed.check_ok:
            raise ValidationFailed(
                CHECK_CHARACTER_WRONG,
                errors=[
                    FieldError(field="code", message=N_("asset tag with a wrong check character"))
                ],
                extra={"recognised_as": "asset_tag", "did_you_mean": parsed.expected},
                tag=parsed.expected,
            )
        return await lookup_device(pool, principal, parsed.tag)
    digits = "".join(ch for ch in text if ch.isdigit())
    kind = (
        "imei"
        if len(digits) == 15 and digits == text.replace(" ", "")
        else "iccid"
        if digits.startswith("89") and 18 <= len(digits) <= 20
        else "serial"
    )
    rows = [
        r
        for r in await repo.device_records_by_identity(pool, digits or text, text)
        if can_see_device(principal, r["province_code"], r["school_id"], r["donor_id"])
    ]
    if not rows:
        raise NotFound(NOT_FOUND_BY[kind], extra={"recognised_as": kind})
    if len(rows) > 1:
        raise Conflict(
            N_("Several devices match this serial; scan the asset tag instead."),
            extra={"recognised_as": kind, "asset_tags": [r["asset_tag"] for r in rows]},
        )
    return _record_read(principal, rows[0])


async def status_counts(session: AsyncSession, school_id: int) -> dict[str, int]:
    """Devices held by one school per status (the caller checked the school's scope)."""
    return await repo.status_counts(session, school_id)


async def scan_photo(pool: asyncpg.Pool, principal: Principal, data: bytes, lang: str) -> PhotoScan:
    """Every label in a photo (POST /scan/image): each code read is looked up as the scan
    box looks it up, so a device the caller may not see is "not found" here too; why a code
    found nothing is said in `lang`, as the scan box's refusal would be."""
    if len(data) > photos.MAX_PHOTO_BYTES:
        raise photos.too_large(len(data))
    photos.image_type(data)  # 415 before any work
    codes = await off_loop(photos.read_codes, data)
    if not codes:
        raise ValidationFailed(
            N_(
                "No barcode or QR code could be read in the photo. Hold the phone steady, "
                "closer to the label, in good light, and take it again."
            ),
            errors=[FieldError(field="file", message=N_("no code found"))],
        )
    devices: dict[str, DeviceRead] = {}
    read: list[ScannedCode] = []
    for code in codes:
        try:
            device = await scan_lookup(pool, principal, photos.code_in(code.text))
        except DomainError as exc:
            problem = translate(exc.detail, lang)
            read.append(ScannedCode(echo(code.text), code.symbology, None, problem))
            continue
        devices.setdefault(device.asset_tag, device)
        read.append(ScannedCode(echo(code.text), code.symbology, device.asset_tag))
    return PhotoScan(items=list(devices.values()), codes=read)

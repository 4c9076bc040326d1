"""Queries for devices and their events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

import asyncpg
from sqlalchemy import (
    ColumnElement,
    Select,
    any_,
    case,
    exists,
    false,
    func,
    insert,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from devicetrack.auth.models import User
from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import restrict
from devicetrack.db.search import like_escape
from devicetrack.devices.identity import normalise_msisdn
from devicetrack.devices.models import Device, DeviceEvent
from devicetrack.devices.tags import parse_tag

_host = aliased(Device, name="host")
_sim = aliased(Device, name="sim")
_found = aliased(Device, name="found")

# Whether the device is or ever was lent to a student (its history names a student only on
# a loan's events): decides who may read the free text typed about it (devices.service).
# A scalar subquery with LIMIT 1, not EXISTS: PostgreSQL may turn an EXISTS into one hash
# of every loan event in the history (millions) built for each list of 50; this one is a
# probe of ix_device_events_lent per device listed (migration 0037).
_ever_lent = func.coalesce(
    select(true())
    .where(DeviceEvent.device_id == Device.id, DeviceEvent.student_id.is_not(None))
    .limit(1)
    .scalar_subquery(),
    false(),
).label("ever_lent")


def visible_devices(principal: Principal) -> ColumnElement[bool]:
    """The devices the caller may see: a province's, a school's, or a donor's own."""
    return restrict(
        principal, province=Device.province_code, school=Device.school_id, donor=Device.donor_id
    )


# The tag of the device a SIM is in, and of the SIM a device holds: one probe of an index
# per device listed. (As LEFT JOINs, PostgreSQL merged a page of 50 devices with every SIM
# installed anywhere, read in id order up to the page's last device: 300 ms at 5,000,000.)
_installed_in = select(_host.asset_tag).where(_host.id == Device.installed_in_id).scalar_subquery()
_installed_sim = select(_sim.asset_tag).where(_sim.installed_in_id == Device.id).scalar_subquery()
_held_sim = aliased(Device, name="held_sim")


def holds_sim() -> ColumnElement[bool]:
    """The device has a SIM in it."""
    return exists().where(_held_sim.installed_in_id == Device.id)


def device_query(where: list[ColumnElement[bool]]) -> Select[*tuple[Any, ...]]:
    """Devices with the tag of the device a SIM is in, of the SIM a device holds, and
    whether it was ever lent."""
    return select(
        Device,
        _installed_in.label("installed_in"),
        _installed_sim.label("installed_sim"),
        _ever_lent,
    ).where(*where)


def search_clause(q: str) -> ColumnElement[bool]:
    """What a person types in a search box: a tag (any case, with or without dashes) or a
    part of one as printed ("012345"), a serial (any case), an IMEI or ICCID, a phone number
    (any Vietnamese form), or a word of the make or model. Other identities are compared
    whole, so "001" does not find every SIM whose number ends in 001."""
    # PostgreSQL text cannot hold NUL characters; a scanner never sends them.
    text = q.replace("\x00", "").strip()
    parsed = parse_tag(text)
    d = _found
    clauses: list[ColumnElement[bool]] = [
        d.asset_tag == (parsed.tag if parsed is not None else text.upper()),
        # Any case: people type serials in lower case (index ix_devices_serial_upper).
        func.upper(d.serial) == text.upper(),
    ]
    if parsed is None and is_tag_fragment(text):
        # Part of a tag as printed on the label ("012345", "DT01-0123"): trigram-indexed
        # where the server has pg_trgm (migration 0037), a scan otherwise.
        clauses.append(d.asset_tag.like(f"%{like_escape(text.upper())}%"))
    compact = re.sub(r"[\s\-.()+]", "", text)
    if compact.isascii() and compact.isdigit():
        clauses += [d.imei == compact, d.iccid == compact]
        phone, problem = normalise_msisdn(text)
        if problem is None:
            clauses.append(d.msisdn == phone)
    elif not any(ch.isdigit() for ch in text) and len(text) >= 2:
        # A word ("Samsung", "Galaxy"): the make or the model. No index serves this and a
        # word may match a million devices, so the list reads devices in id order and
        # keeps those that match, as for any other filter.
        like = like_escape(text)
        return or_(Device.make.ilike(f"{like}%"), Device.model.ilike(f"%{like}%"))
    # Identities match a handful of devices: their ids are found first (each clause by its
    # own index), then the page is read among them. Written as one WHERE of the list,
    # PostgreSQL would walk every device in id order looking for them (seconds at
    # 5,000,000 devices) whenever it guessed that many match.
    found = select(d.id).where(or_(*clauses)).scalar_subquery()
    return Device.id == any_(func.array(found))


_TAG_FRAGMENT = re.compile(r"(?:DT)?[0-9-]{4,14}")


def is_tag_fragment(text: str) -> bool:
    """Whether `text` can be part of an asset tag (DTpp-nnnnnn-c): digits and dashes, at
    least four digits ("001" would find a thousand tags a province), none of its runs of
    digits longer than a tag's sequence (a phone number or an IMEI is no part of a tag)."""
    upper = text.upper()
    runs = [len(r) for r in re.findall(r"[0-9]+", upper)]
    return bool(_TAG_FRAGMENT.fullmatch(upper)) and sum(runs) >= 4 and max(runs) <= 6


async def get_by_tag(session: AsyncSession, tag: str, *, for_update: bool = False) -> Device | None:
    query = select(Device).where(Device.asset_tag == tag)
    if for_update:
        # Locked rows are read afresh: an earlier read in this request must not stand in.
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def read_by_tag(
    session: AsyncSession, tag: str
) -> tuple[Device, str | None, str | None, bool] | None:
    row = (await session.execute(device_query([Device.asset_tag == tag]))).first()
    return (row[0], row[1], row[2], bool(row[3])) if row else None


async def list_devices(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[tuple[Device, str | None, str | None, bool]]:
    query = device_query(where).order_by(Device.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(Device.id > after_id)
    return [(d, h, s, bool(lent)) for d, h, s, lent in await session.execute(query)]


# A device's export: its own columns by name, and the tags of the device a SIM is in and of
# the SIM a device holds.
LINKED_TAGS = {"installed_in": _host.asset_tag, "installed_sim": _sim.asset_tag}


def readable_note(principal: Principal) -> ColumnElement[Any]:
    """The device's note as this caller may read it, for queries that send many devices at
    once (exports): the same rule as devices.service.may_read_text, written in SQL."""
    if principal.is_donor:
        return null()
    if principal.is_province_officer:
        return case((~_ever_lent, Device.note), else_=null())
    if principal.is_school_staff:
        mine = or_(Device.school_id.is_(None), Device.school_id.in_(principal.school_ids))
        return case((mine, Device.note), else_=null())
    return cast(ColumnElement[Any], Device.note)


def export_query(
    where: list[ColumnElement[bool]],
    columns: list[str],
    note: ColumnElement[Any],
    names: Mapping[str, ColumnElement[Any]] | None = None,
) -> Select[Any]:
    """Every matching device, its values in the order of `columns` (plain rows, no ORM
    objects); `note` is the note as the caller may read it (readable_note); `names` are
    more columns by name, handed in by a domain that knows them (donations.export)."""
    table = Device.__table__.c
    linked: dict[str, Any] = {**LINKED_TAGS, "note": note, **(names or {})}
    return (
        select(*(linked[c].label(c) if c in linked else table[c] for c in columns))
        .outerjoin(_host, _host.id == Device.installed_in_id)
        .outerjoin(_sim, _sim.installed_in_id == Device.id)
        .where(*where)
        .order_by(Device.id)
    )


async def sim_in(session: AsyncSession, host_id: int) -> Device | None:
    return (
        await session.execute(
            select(Device)
            .where(Device.installed_in_id == host_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def find_sim(session: AsyncSession, *, tag: str | None, iccid: str | None) -> Device | None:
    clause = Device.asset_tag == tag if tag else Device.iccid == iccid
    return (
        await session.execute(
            select(Device).where(clause).with_for_update().execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def add_event(session: AsyncSession, **values: Any) -> int:
    event_id = (
        await session.execute(insert(DeviceEvent).values(**values).returning(DeviceEvent.id))
    ).scalar_one()
    assert event_id is not None  # a key RETURNING gives is never NULL
    return event_id


async def list_events(
    session: AsyncSession, device_id: int, *, after_id: int | None, limit: int
) -> list[tuple[DeviceEvent, str | None]]:
    """Events with the actor's name."""
    query = (
        select(DeviceEvent, User.full_name)
        .outerjoin(User, User.id == DeviceEvent.actor_id)
        .where(DeviceEvent.device_id == device_id)
        .order_by(DeviceEvent.id)
        .limit(limit + 1)
    )
    if after_id is not None:
        query = query.where(DeviceEvent.id > after_id)
    return [(e, name) for e, name in await session.execute(query)]


async def ever_lent(session: AsyncSession, device_id: int) -> bool:
    """Whether the device is or ever was lent to a student: its history names a student
    only on a loan's events (students/ sits above devices/, so its tables are not read here)."""
    query = select(
        exists().where(DeviceEvent.device_id == device_id, DeviceEvent.student_id.is_not(None))
    )
    return bool(await session.scalar(query))


async def last_event_id(session: AsyncSession, device_id: int) -> int:
    from sqlalchemy import func

    return int(
        await session.scalar(
            select(func.max(DeviceEvent.id)).where(DeviceEvent.device_id == device_id)
        )
        or 0
    )


async def get_by_id(session: AsyncSession, device_id: int, *, for_update: bool = False) -> Device:
    query = select(Device).where(Device.id == device_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


# The hot lookup by tag, on the plain asyncpg pool; columns named as DeviceRead's fields,
# and ever_lent (which decides who may read the note).
DEVICE_BY_TAG = """
SELECT d.id, d.asset_tag, d.kind, d.make, d.model, d.serial, d.imei, d.status, d.condition,
       d.province_code, d.donation_id, d.donor_id, d.school_id, d.received_at,
       d.last_seen_at, d.warranty_until, d.note, d.iccid, d.msisdn, d.carrier, d.plan_name,
       d.plan_quota_gb, d.plan_expires_on, d.paid_by,
       (SELECT h.asset_tag FROM devices h WHERE h.id = d.installed_in_id) AS installed_in,
       (SELECT s.asset_tag FROM devices s WHERE s.installed_in_id = d.id) AS installed_sim,
       d.updated_at, d.needs_wipe, d.activation_lock, d.storage_gb, d.ram_gb,
       d.battery_health_pct,
       EXISTS (SELECT 1 FROM device_events e
                WHERE e.device_id = d.id AND e.student_id IS NOT NULL) AS ever_lent
  FROM devices d WHERE d.asset_tag = $1
"""


async def device_record(pool: asyncpg.Pool, tag: str) -> asyncpg.Record | None:
    return await pool.fetchrow(DEVICE_BY_TAG, tag)


DEVICE_BY_IDENTITY = DEVICE_BY_TAG.replace(
    "WHERE d.asset_tag = $1", "WHERE d.imei = $1 OR d.iccid = $1 OR upper(d.serial) = upper($2)"
)


async def device_records_by_identity(
    pool: asyncpg.Pool, digits: str, raw: str
) -> list[asyncpg.Record]:
    # Enough rows that the caller's visibility filter (after this) still finds its own.
    return await pool.fetch(DEVICE_BY_IDENTITY + " LIMIT 50", digits, raw)


async def status_counts(session: AsyncSession, school_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Device.status, func.count())
        .where(Device.school_id == school_id)
        .group_by(Device.status)
    )
    return {str(s): int(n) for s, n in rows}

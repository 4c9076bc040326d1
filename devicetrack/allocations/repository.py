from __future__ import annotations

from sqlalchemy import ColumnElement, Text, any_, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations.models import (
    QUOTA_UNIQUE,
    Allocation,
    AllocationDevice,
    SchoolQuota,
)
from devicetrack.devices.lifecycle import SCHOOL_HELD
from devicetrack.devices.models import Device
from devicetrack.devices.values import LOCKED


async def lock_by_tags(session: AsyncSession, tags: list[str]) -> list[Device]:
    """Lock the named devices, in id order so concurrent requests cannot deadlock."""
    rows = await session.execute(
        select(Device)
        .where(Device.asset_tag == any_(cast(tags, ARRAY(Text))))
        .order_by(Device.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def lock_stock(
    session: AsyncSession, province: str, kind: str, quantity: int, donation_id: int | None
) -> list[Device]:
    """The oldest-received in-stock devices of a kind, skipping rows another request
    holds locked: two concurrent allocations never take the same device.

    Allocations by kind of one province take turns (a transaction-scoped advisory lock):
    without it, two running at once lock alternate rows under SKIP LOCKED and both come
    up short, and rows held by one that then fails are missed by the other."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"allocate:{province}:{kind}", 0)))
    )
    query = (
        select(Device)
        .where(
            Device.province_code == province,
            Device.status == "in_stock",
            Device.kind == kind,
            Device.installed_in_id.is_(None),
            # A device still locked to an account waits in stock until it is cleared.
            Device.activation_lock.not_in(LOCKED),
        )
        .order_by(Device.received_at, Device.id)
        .limit(quantity)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if donation_id is not None:
        query = query.where(Device.donation_id == donation_id)
    return list((await session.execute(query)).scalars())


async def quotas_of(session: AsyncSession, school_id: int) -> list[SchoolQuota]:
    rows = await session.execute(
        select(SchoolQuota).where(SchoolQuota.school_id == school_id).order_by(SchoolQuota.id)
    )
    return list(rows.scalars())


async def held_count(
    session: AsyncSession, school_id: int, kind: str, donation_id: int | None
) -> int:
    query = select(func.count(Device.school_id)).where(
        Device.school_id == school_id,
        Device.kind == kind,
        Device.status.in_(SCHOOL_HELD),
    )
    if donation_id is not None:
        query = query.where(Device.donation_id == donation_id)
    return int(await session.scalar(query) or 0)


async def upsert_quota(
    session: AsyncSession, school_id: int, kind: str, donation_id: int | None, quantity: int
) -> None:
    stmt = pg_insert(SchoolQuota).values(
        school_id=school_id, kind=kind, donation_id=donation_id, quantity=quantity
    )
    # By constraint name, not by inferring an index from expressions: an inferred target
    # with a bound parameter in it stops matching once PostgreSQL plans the prepared
    # statement generically (its sixth execution on a connection).
    stmt = stmt.on_conflict_do_update(
        constraint=QUOTA_UNIQUE, set_={"quantity": stmt.excluded.quantity}
    )
    await session.execute(stmt)


async def add_allocation(
    session: AsyncSession, allocation: Allocation, device_ids: list[int]
) -> Allocation:
    session.add(allocation)
    await session.flush()
    await session.execute(
        pg_insert(AllocationDevice),
        [{"allocation_id": allocation.id, "device_id": d} for d in device_ids],
    )
    await session.refresh(allocation)
    return allocation


async def get_allocation(session: AsyncSession, allocation_id: int) -> Allocation | None:
    return await session.get(Allocation, allocation_id)


async def allocation_devices(session: AsyncSession, allocation_id: int) -> list[Device]:
    rows = await session.execute(
        select(Device)
        .join(AllocationDevice, AllocationDevice.device_id == Device.id)
        .where(AllocationDevice.allocation_id == allocation_id)
        .order_by(Device.id)
    )
    return list(rows.scalars())


async def list_allocations(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[tuple[Allocation, int]]:
    received = (
        select(func.count(AllocationDevice.device_id))
        .join(Device, Device.id == AllocationDevice.device_id)
        .where(
            AllocationDevice.allocation_id == Allocation.id,
            Device.school_id == Allocation.school_id,
            Device.status != "allocated",
        )
        .scalar_subquery()
    )
    query = select(Allocation, received).where(*where).order_by(Allocation.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(Allocation.id > after_id)
    return [(a, int(r)) for a, r in await session.execute(query)]


async def awaiting_receipt(session: AsyncSession, school_id: int) -> list[tuple[str, str]]:
    """Tags allocated to a school that its staff have not scanned in yet."""
    rows = await session.execute(
        select(Device.asset_tag, Device.kind)
        .where(Device.school_id == school_id, Device.status == "allocated")
        .order_by(Device.asset_tag)
    )
    return [(str(t), str(k)) for t, k in rows]

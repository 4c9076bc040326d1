from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import restrict
from devicetrack.devices.models import Device
from devicetrack.devices.tags import PREFIX
from devicetrack.donations.models import Donation, DonationCounts, LabelBatch, PledgedLine
from devicetrack.donors.models import Donor
from devicetrack.schools.models import School


def visible_donations(principal: Principal) -> ColumnElement[bool]:
    """The donations the caller may see: a province's, or a donor's own."""
    return restrict(principal, province=Donation.province_code, donor=Donation.donor_id)


async def get_donation(session: AsyncSession, donation_id: int) -> Donation | None:
    return await session.get(Donation, donation_id)


async def donor_name(session: AsyncSession, donor_id: int) -> str:
    return str(await session.scalar(select(Donor.name).where(Donor.id == donor_id)))


async def add_donation(session: AsyncSession, donation: Donation) -> Donation:
    session.add(donation)
    await session.flush()
    await session.refresh(donation)
    return donation


async def replace_lines(
    session: AsyncSession, donation_id: int, lines: list[dict[str, Any]]
) -> None:
    await session.execute(delete(PledgedLine).where(PledgedLine.donation_id == donation_id))
    if lines:
        await session.execute(
            insert(PledgedLine), [{"donation_id": donation_id, **line} for line in lines]
        )


async def lines_of(session: AsyncSession, donation_id: int) -> list[PledgedLine]:
    rows = await session.execute(
        select(PledgedLine).where(PledgedLine.donation_id == donation_id).order_by(PledgedLine.id)
    )
    return list(rows.scalars())


async def received_by_kind(session: AsyncSession, donation_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Device.kind, func.count(Device.donation_id))
        .where(Device.donation_id == donation_id)
        .group_by(Device.kind)
    )
    return {kind: int(n) for kind, n in rows}


async def list_donations(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[tuple[Donation, str, int, int]]:
    pledged = (
        select(func.coalesce(func.sum(PledgedLine.quantity), 0))
        .where(PledgedLine.donation_id == Donation.id)
        .scalar_subquery()
    )
    # Kept by triggers (migration 0044): counting each donation's devices read 1,500,000
    # index entries for a page of the nation's donations.
    received = (
        select(func.coalesce(func.max(DonationCounts.devices), 0))
        .where(DonationCounts.donation_id == Donation.id)
        .scalar_subquery()
    )
    query = (
        select(Donation, Donor.name, pledged, received)
        .join(Donor, Donor.id == Donation.donor_id)
        .where(*where)
        .order_by(Donation.id)
        .limit(limit + 1)
    )
    if after_id is not None:
        query = query.where(Donation.id > after_id)
    return [(d, n, int(p), int(r)) for d, n, p, r in await session.execute(query)]


async def add_label_batch(session: AsyncSession, batch: LabelBatch) -> LabelBatch:
    session.add(batch)
    await session.flush()
    await session.refresh(batch)
    return batch


async def get_label_batch(session: AsyncSession, batch_id: int) -> LabelBatch | None:
    return await session.get(LabelBatch, batch_id)


async def list_label_batches(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[LabelBatch]:
    query = select(LabelBatch).where(*where).order_by(LabelBatch.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(LabelBatch.id > after_id)
    return list((await session.execute(query)).scalars())


def _in_batch(province_code: str, first_sequence: int, count: int) -> ColumnElement[bool]:
    """Devices whose tag lies in a batch: a range of the tag index. Every tag has the same
    shape (DTpp-ssssss-c), so the batch's tags are exactly those between its first
    sequence's and its last's; a batch of 100,000 tags is never spelled out."""
    last = first_sequence + count - 1
    return Device.asset_tag.between(
        f"{PREFIX}{province_code}-{first_sequence:06d}-0", f"{PREFIX}{province_code}-{last:06d}-9"
    )


async def count_bound(session: AsyncSession, province_code: str, first: int, count: int) -> int:
    found = await session.scalar(
        select(func.count()).select_from(Device).where(_in_batch(province_code, first, count))
    )
    return int(found or 0)


async def bound_tags(
    session: AsyncSession, province_code: str, first: int, count: int
) -> list[str]:
    rows = await session.execute(
        select(Device.asset_tag)
        .where(_in_batch(province_code, first, count))
        .order_by(Device.asset_tag)
    )
    return list(rows.scalars())


async def gives_outside(session: AsyncSession, donor_id: int, province_code: str) -> bool:
    """Has the donor a donation in a province other than this one?"""
    found = await session.scalar(
        select(Donation.id)
        .where(Donation.donor_id == donor_id, Donation.province_code != province_code)
        .limit(1)
    )
    return found is not None


def device_names() -> dict[str, ColumnElement[Any]]:
    """A device's donation (its reference), donor and school by name, as columns of a device
    query (devices.export.NAMED): what a person reads in place of their numbers."""
    return {
        "donation": select(Donation.reference)
        .where(Donation.id == Device.donation_id)
        .scalar_subquery(),
        "donor": select(Donor.name).where(Donor.id == Device.donor_id).scalar_subquery(),
        "school": select(School.name).where(School.id == Device.school_id).scalar_subquery(),
    }

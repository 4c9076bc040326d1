from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.donors.models import Donor


async def get_donor(session: AsyncSession, donor_id: int) -> Donor | None:
    return await session.get(Donor, donor_id)


async def list_donors(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[Donor]:
    query = select(Donor).where(*where).order_by(Donor.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(Donor.id > after_id)
    return list((await session.execute(query)).scalars())


async def add_donor(session: AsyncSession, donor: Donor) -> Donor:
    session.add(donor)
    await session.flush()
    await session.refresh(donor)
    return donor


async def delete_donor(session: AsyncSession, donor: Donor) -> None:
    await session.delete(donor)
    await session.flush()


async def donor_names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Donor.id, Donor.name).where(Donor.id.in_(ids)))
    return {i: n for i, n in rows if i is not None}

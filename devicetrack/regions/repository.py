from __future__ import annotations

from sqlalchemy import Text, any_, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.regions.models import Commune, Province


async def list_provinces(session: AsyncSession) -> list[tuple[Province, int]]:
    counts = (
        select(Commune.province_code, func.count().label("n"))
        .group_by(Commune.province_code)
        .subquery()
    )
    rows = await session.execute(
        select(Province, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.province_code == Province.code)
        .order_by(Province.code)
    )
    return [(p, int(n)) for p, n in rows]


async def get_province(session: AsyncSession, code: str) -> Province | None:
    return await session.get(Province, code)


async def list_communes(session: AsyncSession, province_code: str, q: str | None) -> list[Commune]:
    query = select(Commune).where(Commune.province_code == province_code).order_by(Commune.code)
    if q:
        query = query.where(Commune.name.ilike(f"%{q}%"))
    return list((await session.execute(query)).scalars())


async def commune_provinces(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    """Map each known commune code to its province code."""
    if not codes:
        return {}
    rows = await session.execute(
        # One array parameter: an upload may name more codes than the driver's 32,767
        # query arguments allow.
        select(Commune.code, Commune.province_code).where(
            Commune.code == any_(cast(codes, ARRAY(Text)))
        )
    )
    return {code: province for code, province in rows}


async def commune_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = await session.execute(
        select(Commune.code, Commune.name).where(Commune.code == any_(cast(codes, ARRAY(Text))))
    )
    return {code: name for code, name in rows}

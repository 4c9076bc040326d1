"""Reading the administrative units: public reference data any signed-in caller may read."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.errors import NotFound, echo
from devicetrack.i18n import N_
from devicetrack.regions import repository as repo
from devicetrack.regions.models import Commune, Province


async def list_provinces(session: AsyncSession) -> list[tuple[Province, int]]:
    """Every province with its number of communes, by code."""
    return await repo.list_provinces(session)


async def get_province(session: AsyncSession, code: str) -> Province:
    province = await repo.get_province(session, code)
    if province is None:
        raise NotFound(N_("No province {code}."), code=echo(code))
    return province


async def list_communes(session: AsyncSession, province_code: str) -> list[Commune]:
    """The province's communes by code (none for an unknown province)."""
    return await repo.list_communes(session, province_code, None)


async def commune_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    return await repo.commune_names(session, sorted(set(codes)))

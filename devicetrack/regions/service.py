"""Reading the administrative units: public reference data any signed-in caller may read."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.errors import NotFound, echo
from devicetrack.i18n import N_
from devicetrack.regions import repository as repo
from devicetrack.regions.models import Province


async def list_provinces(session: AsyncSession) -> list[tuple[Province, int]]:
    """Every province with its number of communes, by code."""
    return await repo.list_provinces(session)


async def get_province(session: AsyncSession, code: str) -> Province:
    province = await repo.get_province(session, code)
    if province is None:
        raise NotFound(N_("No province {code}."), code=echo(code))
    return province

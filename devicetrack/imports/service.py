"""Making an import template for a reader: the role check, and the real commune and school
the example row names."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.common.spreadsheet import Sheet
from devicetrack.errors import Forbidden
from devicetrack.i18n import N_
from devicetrack.imports.templates import TEMPLATES, example, sheets
from devicetrack.regions import repository as regions
from devicetrack.schools import service as schools

# Where an admin's example school lives (the demo's province).
DEFAULT_PROVINCE = "11"


async def template_sheets(
    session: AsyncSession, principal: Principal, name: str, lang: str
) -> list[Sheet]:
    if not TEMPLATES[name].may(principal):
        raise Forbidden(N_("Your role does not import these."))
    commune = school = ""
    if name == "schools":
        province = principal.province_code or DEFAULT_PROVINCE
        communes = await regions.list_communes(session, province, None)
        commune = communes[0].code if communes else ""
    if name == "enrolments":
        visible = await schools.list_schools(
            session,
            principal,
            province=None,
            commune=None,
            active=None,
            level=None,
            q=None,
            after_id=None,
            limit=1,
        )
        school = visible[0].code if visible else "MAU-0001"
    return sheets(name, lang, example(name, lang, local_today(), commune, school))

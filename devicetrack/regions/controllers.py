from __future__ import annotations

from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.errors import NotFound, echo
from devicetrack.i18n import N_
from devicetrack.regions import repository as repo
from devicetrack.regions import service
from devicetrack.regions.schemas import CommuneList, CommuneRead, ProvinceList, ProvinceRead


class RegionController(Controller):
    """The administrative units are public reference data: any signed-in caller reads them."""

    path = "/provinces"
    tags = ["regions"]

    @get("/", operation_id="listProvinces")
    async def provinces(self, tx: AsyncSession, principal: Principal) -> ProvinceList:
        rows = await service.list_provinces(tx)
        return ProvinceList(
            items=[
                ProvinceRead(
                    code=p.code,
                    name=p.name,
                    division_type=p.division_type,
                    programme_name=p.programme_name,
                    commune_count=n,
                )
                for p, n in rows
            ]
        )

    @get("/{code:str}/communes", operation_id="listCommunes")
    async def communes(
        self, tx: AsyncSession, principal: Principal, code: str, q: str | None = None
    ) -> CommuneList:
        code = code.zfill(2)
        if await repo.get_province(tx, code) is None:
            raise NotFound(N_("No province with code {code}."), code=echo(code))
        communes = await repo.list_communes(tx, code, q)
        return CommuneList(
            items=[
                CommuneRead(
                    code=c.code,
                    name=c.name,
                    division_type=c.division_type,
                    province_code=c.province_code,
                )
                for c in communes
            ]
        )

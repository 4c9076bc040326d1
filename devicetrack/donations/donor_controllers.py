"""The donor register's API. It lives in donations/, above donors/, because whether a
province officer may edit a donor depends on where the donor gives: its donations."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.donations import service as donations
from devicetrack.donors import service
from devicetrack.donors.schemas import DonorCreate, DonorPage, DonorRead, DonorUpdate
from devicetrack.donors.values import DonorKind


class DonorController(Controller):
    path = "/donors"
    tags = ["donors"]

    @post("/", operation_id="createDonor")
    async def create(self, tx: AsyncSession, principal: Principal, data: DonorCreate) -> DonorRead:
        return await service.create_donor(tx, principal, data)

    @get("/", operation_id="listDonors")
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        q: str | None = None,
        kind: DonorKind | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> DonorPage:
        rows = await service.list_donors(
            tx, principal, q=q, kind=kind, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return DonorPage(items=items, next_cursor=next_cursor)

    @get("/{donor_id:int}", operation_id="getDonor")
    async def get_(self, tx: AsyncSession, principal: Principal, donor_id: int) -> DonorRead:
        return service.donor_read(await service.get_donor(tx, principal, donor_id))

    @patch("/{donor_id:int}", operation_id="updateDonor")
    async def update(
        self, tx: AsyncSession, principal: Principal, donor_id: int, data: DonorUpdate
    ) -> DonorRead:
        return await donations.update_donor(tx, principal, donor_id, data)

    @delete("/{donor_id:int}", operation_id="deleteDonor")
    async def delete_(self, tx: AsyncSession, principal: Principal, donor_id: int) -> None:
        await service.delete_donor(tx, principal, donor_id)

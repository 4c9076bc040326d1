from __future__ import annotations

from litestar import Controller, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations import service
from devicetrack.allocations.schemas import (
    AllocationCreate,
    AllocationPage,
    AllocationRead,
    QuotaList,
    QuotaWrite,
    ReceiptCreate,
    ReceiptResult,
)
from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of


class AllocationController(Controller):
    path = "/allocations"
    tags = ["allocations"]

    @post("/", operation_id="createAllocation")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: AllocationCreate
    ) -> AllocationRead:
        """By asset tags, or by kind and quantity from the province's (or one donation's)
        in-stock devices, oldest received first. All or nothing."""
        return await service.allocate(tx, principal, data)

    @get("/", operation_id="listAllocations")
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        school: int | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AllocationPage:
        rows = await service.list_allocations(
            tx, principal, school_id=school, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return AllocationPage(items=items, next_cursor=next_cursor)

    @get("/{allocation_id:int}", operation_id="getAllocation")
    async def get_(
        self, tx: AsyncSession, principal: Principal, allocation_id: int
    ) -> AllocationRead:
        return await service.read_allocation(tx, principal, allocation_id)


class SchoolStockController(Controller):
    path = "/schools/{school_id:int}"
    tags = ["allocations"]

    @post("/receipts", operation_id="receiveDevices", status_code=200)
    async def receipts(
        self, tx: AsyncSession, principal: Principal, school_id: int, data: ReceiptCreate
    ) -> ReceiptResult:
        """Scanned tags: each allocated to this school becomes at_school; the rest come
        back as discrepancies and nothing changes for them."""
        return await service.receive(tx, principal, school_id, data)

    @get("/quotas", operation_id="listQuotas")
    async def quotas(self, tx: AsyncSession, principal: Principal, school_id: int) -> QuotaList:
        return QuotaList(items=await service.list_quotas(tx, principal, school_id))

    @put("/quotas", operation_id="setQuota")
    async def set_quota(
        self, tx: AsyncSession, principal: Principal, school_id: int, data: QuotaWrite
    ) -> QuotaList:
        return QuotaList(items=await service.set_quota(tx, principal, school_id, data))

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, get, patch
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common import spreadsheet
from devicetrack.common.heavy import heavy_work
from devicetrack.common.lag_tolerant import LAG_TOLERANT
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.devices import export, service
from devicetrack.devices.schemas import (
    DevicePage,
    DeviceRead,
    DeviceUpdate,
)
from devicetrack.devices.values import Condition, DeviceKind, DeviceStatus


class DeviceController(Controller):
    path = "/devices"
    tags = ["devices"]

    @get("/", operation_id="listDevices", opt=LAG_TOLERANT)
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        kind: DeviceKind | None = None,
        status: DeviceStatus | None = None,
        condition: Condition | None = None,
        donor: int | None = None,
        donation: int | None = None,
        school: int | None = None,
        province: str | None = None,
        has_sim: bool | None = None,
        q: str | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> DevicePage:
        """Filter by kind, status, condition, donor, donation, school, province, has_sim;
        `q` matches a tag, serial, IMEI, ICCID or phone number."""
        where = service.device_filters(
            principal,
            kind=kind,
            status=status,
            condition=condition,
            donor=donor,
            donation=donation,
            school=school,
            province=province,
            has_sim=has_sim,
            q=q,
        )
        rows = await service.list_devices(
            tx, principal, where, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return DevicePage(items=items, next_cursor=next_cursor)

    @get("/export", operation_id="exportDevices", opt=LAG_TOLERANT)
    async def export_(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        db_engine: AsyncEngine,
        format: Literal["csv", "xlsx"] = "csv",
        kind: DeviceKind | None = None,
        status: DeviceStatus | None = None,
        condition: Condition | None = None,
        donor: int | None = None,
        donation: int | None = None,
        school: int | None = None,
        province: str | None = None,
        has_sim: bool | None = None,
        q: str | None = None,
    ) -> Stream:
        """Every matching device (same filters as the list), with no cap. A few exports
        and label sheets run at once per server process; beyond that, 429 with
        Retry-After."""
        where = service.device_filters(
            principal,
            kind=kind,
            status=status,
            condition=condition,
            donor=donor,
            donation=donation,
            school=school,
            province=province,
            has_sim=has_sim,
            q=q,
        )
        await export.probe(db_engine, where)
        heavy = heavy_work(request)
        if format == "xlsx":
            handle = await export.xlsx_file(heavy, db_engine, principal, where)
            return spreadsheet.download(handle, "devices.xlsx", spreadsheet.XLSX)
        await heavy.acquire()
        return Stream(
            heavy.holding(export.csv_stream(db_engine, principal, where)),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="devices.csv"'},
        )

    @get("/{asset_tag:str}", operation_id="getDevice")
    async def get_(
        self, request: Request[Any, Any, Any], principal: Principal, asset_tag: str
    ) -> DeviceRead:
        """The tag may be typed in any case, with or without dashes."""
        # The pool from the app's state, not as a dependency: with `principal` it would make
        # two sibling dependencies, which Litestar resolves in a task group per request.
        return await service.lookup_device(request.app.state.pg_pool, principal, asset_tag)

    @patch("/{asset_tag:str}", operation_id="updateDevice")
    async def update(
        self, tx: AsyncSession, principal: Principal, asset_tag: str, data: DeviceUpdate
    ) -> DeviceRead:
        return await service.update_device(tx, principal, asset_tag, data)

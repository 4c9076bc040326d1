"""A device's actions and history (custody/service.py says why they live here)."""

from __future__ import annotations

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.custody import service
from devicetrack.devices.schemas import ActionBody, ActionResult, EventPage


class DeviceCustodyController(Controller):
    path = "/devices"
    tags = ["devices"]

    @get("/{asset_tag:str}/events", operation_id="listDeviceEvents")
    async def events(
        self,
        tx: AsyncSession,
        principal: Principal,
        asset_tag: str,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> EventPage:
        rows = await service.list_events(
            tx, principal, asset_tag, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return EventPage(items=items, next_cursor=next_cursor)

    @post("/{asset_tag:str}/actions/{action:str}", operation_id="deviceAction", status_code=200)
    async def action(
        self,
        tx: AsyncSession,
        principal: Principal,
        asset_tag: str,
        action: str,
        data: ActionBody | None = None,
    ) -> ActionResult:
        return await service.perform(tx, principal, asset_tag, action, data or ActionBody())

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import MAX_ID, Cursor, Limit, decode_cursor, page_of
from devicetrack.config import Settings
from devicetrack.webhooks import service
from devicetrack.webhooks.schemas import (
    DeliveryPage,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookRead,
)


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post(
        "/",
        operation_id="createWebhook",
        description=(
            "Subscribe a URL to events (admins: every event; province officers: their "
            "province's; donors: their own devices and donations). The answer carries the "
            "signing secret (whsec_…) once; deliveries are signed per Standard Webhooks."
        ),
    )
    async def create(
        self, tx: AsyncSession, principal: Principal, settings: Settings, data: WebhookCreate
    ) -> WebhookCreated:
        return await service.create(
            tx, principal, data, allow_private=settings.webhook_allow_private
        )

    @get("/", operation_id="listWebhooks")
    async def list_(
        self, tx: AsyncSession, principal: Principal, limit: Limit = 50, cursor: Cursor = None
    ) -> WebhookPage:
        rows = await service.list_subscriptions(
            tx, principal, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return WebhookPage(items=items, next_cursor=next_cursor)

    @get("/{webhook_id:int}", operation_id="getWebhook")
    async def get_(
        self, tx: AsyncSession, principal: Principal, webhook_id: int = Parameter(ge=1, le=MAX_ID)
    ) -> WebhookRead:
        return await service.read(tx, principal, webhook_id)

    @delete("/{webhook_id:int}", operation_id="deleteWebhook")
    async def delete_(
        self, tx: AsyncSession, principal: Principal, webhook_id: int = Parameter(ge=1, le=MAX_ID)
    ) -> None:
        await service.delete(tx, principal, webhook_id)

    @get(
        "/{webhook_id:int}/deliveries",
        operation_id="listWebhookDeliveries",
        description="Deliveries, newest first, each with its tries: status codes and timings.",
    )
    async def deliveries(
        self,
        tx: AsyncSession,
        principal: Principal,
        webhook_id: int = Parameter(ge=1, le=MAX_ID),
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> DeliveryPage:
        rows = await service.deliveries(
            tx, principal, webhook_id, before_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return DeliveryPage(items=items, next_cursor=next_cursor)

    @post(
        "/{webhook_id:int}/deliveries/{delivery_id:int}/redeliver",
        operation_id="redeliverWebhook",
        status_code=202,
    )
    async def redeliver(
        self,
        tx: AsyncSession,
        principal: Principal,
        webhook_id: int = Parameter(ge=1, le=MAX_ID),
        delivery_id: int = Parameter(ge=1, le=2**63 - 1),
    ) -> None:
        await service.redeliver(tx, principal, webhook_id, delivery_id)

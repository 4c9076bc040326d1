from __future__ import annotations

from datetime import datetime

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.webhooks.limits import Url
from devicetrack.webhooks.values import DeliveryStatus, DisabledReason, WebhookEvent


class WebhookCreate(Body):
    url: Url
    events: list[WebhookEvent]


class WebhookRead(msgspec.Struct):
    id: int
    url: str
    events: list[WebhookEvent]
    # Whose it is: both null for an admin's (every event of the installation).
    province_code: str | None
    donor_id: int | None
    active: bool
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    # Why it is off (null while on): "failing" (no success for days) or
    # "owner_deactivated" (the user who made it was deactivated). Nothing turns one back
    # on: whoever holds the scope now creates it again, under their own name.
    disabled_reason: DisabledReason | None


class WebhookCreated(WebhookRead):
    # Shown once: the key to verify the signatures with (Standard Webhooks' whsec_…).
    secret: str


class WebhookPage(msgspec.Struct):
    items: list[WebhookRead]
    next_cursor: str | None


class AttemptRead(msgspec.Struct):
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None


class DeliveryRead(msgspec.Struct):
    id: int
    # The webhook-id header, the same on every try of a message.
    message_id: str
    event_type: WebhookEvent
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    tries: list[AttemptRead]


class DeliveryPage(msgspec.Struct):
    items: list[DeliveryRead]
    next_cursor: str | None

"""The webhook tables (migration 0033 makes them, with the trigger that fills the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, each_one_of, length_checks, one_of, timestamp
from devicetrack.webhooks.limits import LENGTHS
from devicetrack.webhooks.values import DeliveryStatus, DisabledReason, WebhookEvent


class WebhookSubscription(SQLModel, table=True):
    """A URL and the events it receives. Whose it is decides what it receives: no province
    and no donor, an admin's (everything); a province, an officer's; a donor, a donor's."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint(each_one_of("events", WebhookEvent), name="events_known"),
        CheckConstraint("cardinality(events) > 0", name="some_event"),
        CheckConstraint("province_code IS NULL OR donor_id IS NULL", name="one_scope"),
        CheckConstraint(one_of("disabled_reason", DisabledReason), name="disabled_reason_known"),
        # Off always says why; on never carries a reason (migration 0038).
        CheckConstraint("active = (disabled_reason IS NULL)", name="disabled_with_reason"),
        *length_checks("webhook_subscriptions", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    events: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    # The signing key, whsec_ + base64: kept as it is (signing needs it), shown once.
    secret: str = Field(sa_column=Column(Text, nullable=False))
    province_code: str | None = Field(
        default=None,
        sa_column=Column(String(2), ForeignKey("provinces.code"), nullable=True, index=True),
    )
    donor_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("donors.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    active: bool = True
    created_at: datetime | None = created_at()
    failing_since: datetime | None = timestamp()
    disabled_at: datetime | None = timestamp()
    disabled_reason: str | None = None


class WebhookMessage(SQLModel, table=True):
    """The outbox: one event to send, written in the transaction of the change."""

    __tablename__ = "webhook_messages"
    __table_args__ = (
        CheckConstraint(one_of("event_type", WebhookEvent), name="event_type_known"),
        CheckConstraint("data IS NOT NULL OR event_ids IS NOT NULL", name="has_content"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_type: str
    province_code: str | None = Field(default=None, sa_type=String(2))
    donor_id: int | None = None
    # A device event's message names its device_events; its data is built from them before
    # the first try (repository.BUILD). Other events carry their data from the start.
    event_ids: list[int] | None = Field(
        default=None, sa_column=Column(ARRAY(BigInteger), nullable=True)
    )
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    created_at: datetime | None = created_at()


class WebhookDelivery(SQLModel, table=True):
    """One message to one subscription: its state and its next try."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (CheckConstraint(one_of("status", DeliveryStatus), name="status_known"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    message_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("webhook_messages.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    subscription_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False
        )
    )
    status: str = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = created_at()
    # A worker sending it holds it until then (a worker that dies lets it go).
    lease_until: datetime | None = timestamp()
    # Set by the first failed try: no retry after it (a redeliver starts a new window).
    retry_until: datetime | None = timestamp()
    created_at: datetime | None = created_at()
    delivered_at: datetime | None = timestamp()
    last_status_code: int | None = None
    last_error: str | None = None


class WebhookAttempt(SQLModel, table=True):
    """One try of a delivery: the receiver's status code (None: no answer), how long."""

    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    delivery_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
        )
    )
    at: datetime | None = created_at()
    status_code: int | None = None
    duration_ms: int
    error: str | None = None

"""Queries for webhooks. Who receives a message is decided in SQL (migration 0033's
webhooks_match), by the trigger on device_events and by webhooks_emit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookMessage,
    WebhookSubscription,
)
from devicetrack.webhooks.values import DeliveryStatus, DisabledReason

ANY_OWNER = object()  # list_subscriptions: every subscription (an admin's view)


async def add_subscription(session: AsyncSession, sub: WebhookSubscription) -> None:
    session.add(sub)
    await session.flush()


async def get_subscription(session: AsyncSession, sub_id: int) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, sub_id)


async def delete_subscription(session: AsyncSession, sub_id: int) -> None:
    await session.execute(delete(WebhookSubscription).where(WebhookSubscription.id == sub_id))


def _owned(query: Any, province_code: str | None, donor_id: int | None) -> Any:
    return query.where(
        WebhookSubscription.province_code.is_not_distinct_from(province_code),
        WebhookSubscription.donor_id.is_not_distinct_from(donor_id),
    )


async def lock_owner(
    session: AsyncSession, province_code: str | None, donor_id: int | None
) -> None:
    """Creates for one owner take turns until their transaction ends (a transaction-scoped
    advisory lock): counting and then inserting is otherwise a race, and 25 creates at once
    would each count fewer than MAX_SUBSCRIPTIONS and all insert."""
    key = f"webhooks:{province_code or ''}:{'' if donor_id is None else donor_id}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def count_owned(
    session: AsyncSession, province_code: str | None, donor_id: int | None
) -> int:
    query = _owned(select(func.count()).select_from(WebhookSubscription), province_code, donor_id)
    return int((await session.execute(query)).scalar_one())


async def list_subscriptions(
    session: AsyncSession,
    *,
    owner: object,
    after_id: int | None,
    limit: int,
) -> Sequence[WebhookSubscription]:
    """`owner`: ANY_OWNER, or the (province_code, donor_id) of the subscriptions wanted."""
    query = select(WebhookSubscription).order_by(WebhookSubscription.id).limit(limit + 1)
    if owner is not ANY_OWNER:
        assert isinstance(owner, tuple)
        query = _owned(query, *owner)
    if after_id is not None:
        query = query.where(WebhookSubscription.id > after_id)
    return list((await session.execute(query)).scalars())


async def deliveries(
    session: AsyncSession, sub_id: int, *, before_id: int | None, limit: int
) -> list[tuple[WebhookDelivery, str, list[WebhookAttempt]]]:
    """Newest first, each with its event type and its tries (oldest first)."""
    query = (
        select(WebhookDelivery, WebhookMessage.event_type)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.subscription_id == sub_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    rows = [(d, e) for d, e in (await session.execute(query)).all()]
    ids = [d.id for d, _ in rows]
    tries: dict[int, list[WebhookAttempt]] = {i: [] for i in ids if i is not None}
    if ids:
        attempts = await session.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
        )
        for attempt in attempts.scalars():
            tries[attempt.delivery_id].append(attempt)
    return [(d, e, tries[d.id or 0]) for d, e in rows]


async def redeliver(session: AsyncSession, sub_id: int, delivery_id: int) -> bool:
    """Put a delivery back in the queue, due now, with a new retry window."""
    done = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == sub_id)
        .values(
            status=DeliveryStatus.PENDING,
            next_attempt_at=func.now(),
            lease_until=None,
            retry_until=None,
        )
        .returning(WebhookDelivery.id)
    )
    return done.first() is not None


async def emit(
    session: AsyncSession,
    event: str,
    *,
    province_code: str | None,
    donor_id: int | None,
    data: dict[str, Any],
) -> int | None:
    """One message for every subscription that receives it (none: nothing is written)."""
    made = await session.execute(
        text("SELECT webhooks_emit(:event, :province, :donor, CAST(:data AS jsonb))"),
        {
            "event": event,
            "province": province_code,
            "donor": donor_id,
            "data": json.dumps(data, default=str),
        },
    )
    value = made.scalar_one()
    return None if value is None else int(value)


# ---- delivery ------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    delivery_id: int
    message_id: int
    subscription_id: int
    attempts: int
    retry_until: datetime | None
    url: str
    secret: str
    for_donor: bool
    event_type: str
    created_at: datetime
    data: dict[str, Any] | None  # None only if its events could not be read
    # Whether the user who made the subscription is still active (True when none is
    # recorded): a deactivated owner's subscription is disabled, not sent to.
    owner_active: bool


_LEASE = text("""
WITH due AS (
    SELECT d.id FROM webhook_deliveries d
      JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.active
     WHERE d.status = 'pending' AND d.next_attempt_at <= now()
       AND (d.lease_until IS NULL OR d.lease_until < now())
     ORDER BY d.next_attempt_at, d.id
     LIMIT :limit
       FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d SET lease_until = now() + make_interval(secs => :lease)
  FROM due WHERE d.id = due.id
RETURNING d.id
""")

# A device event's data, from the events its message names (written by migration 0033's
# trigger). What a receiver may learn of a device: its tag, kind, the change, its school
# and donation; a student only as the pseudonymous code, on loans (payloads.view drops even
# that for donors). Never the event's note (free text) nor its data. Built once: a second
# worker finds it built (the row lock, then `data IS NULL` again).
BUILD = text("""
UPDATE webhook_messages m SET data = built.data
  FROM (
    SELECT x.message_id,
           jsonb_build_object(
               'province_code', min(x.province_code), 'donor_id', min(x.donor_id),
               'count', count(*), 'devices', jsonb_agg(x.item ORDER BY x.event_id)) AS data
      FROM (
        SELECT m2.id AS message_id, m2.province_code, m2.donor_id, e.id AS event_id,
               jsonb_strip_nulls(jsonb_build_object(
                   'asset_tag', d.asset_tag, 'kind', d.kind, 'action', e.action,
                   'from_status', e.from_status, 'status', e.to_status,
                   'condition', e.condition, 'donation_id', d.donation_id,
                   'school_id', e.school_id, 'school_code', sc.code, 'school_name', sc.name,
                   'student_code', CASE WHEN e.action IN ('assigned', 'returned')
                                        THEN st.student_code END,
                   'at', e.at)) AS item
          FROM webhook_messages m2
          CROSS JOIN LATERAL unnest(m2.event_ids) AS ids(event_id)
          JOIN device_events e ON e.id = ids.event_id
          JOIN devices d ON d.id = e.device_id
          LEFT JOIN schools sc ON sc.id = e.school_id
          LEFT JOIN students st ON st.id = e.student_id
         WHERE m2.id = ANY (CAST(:ids AS bigint[])) AND m2.data IS NULL
      ) x
     GROUP BY x.message_id
  ) built
 WHERE m.id = built.message_id AND m.data IS NULL
""")

_LEASED = text("""
SELECT l.id, l.message_id, l.subscription_id, l.attempts, l.retry_until, s.url, s.secret,
       s.donor_id IS NOT NULL AS for_donor, m.event_type, m.created_at, m.data,
       coalesce(u.active, true) AS owner_active
  FROM webhook_deliveries l
  JOIN webhook_subscriptions s ON s.id = l.subscription_id
  JOIN webhook_messages m ON m.id = l.message_id
  LEFT JOIN users u ON u.id = s.created_by
 WHERE l.id = ANY (CAST(:ids AS bigint[]))
 ORDER BY l.id
""")


async def claim_due(session: AsyncSession, *, limit: int, lease_seconds: float) -> list[Due]:
    """Lease up to `limit` deliveries due now, build their messages' data where it is
    still to be built, and return them."""
    leased = await session.execute(_LEASE, {"limit": limit, "lease": lease_seconds})
    ids = [int(r[0]) for r in leased]
    if not ids:
        return []
    messages = await session.execute(
        text(
            "SELECT DISTINCT message_id FROM webhook_deliveries d"
            " JOIN webhook_messages m ON m.id = d.message_id"
            " WHERE d.id = ANY (CAST(:ids AS bigint[])) AND m.data IS NULL"
        ),
        {"ids": ids},
    )
    unbuilt = [int(r[0]) for r in messages]
    if unbuilt:
        await session.execute(BUILD, {"ids": unbuilt})
    rows = await session.execute(_LEASED, {"ids": ids})
    return [Due(*row) for row in rows]


async def record_attempt(
    session: AsyncSession,
    delivery_id: int,
    *,
    status_code: int | None,
    duration_ms: int,
    error: str | None,
) -> None:
    """A try's record, unless its webhook was deleted while it was being sent."""
    await session.execute(
        text(
            "INSERT INTO webhook_attempts (delivery_id, status_code, duration_ms, error)"
            " SELECT id, :code, :ms, :error FROM webhook_deliveries WHERE id = :id"
        ),
        {"id": delivery_id, "code": status_code, "ms": duration_ms, "error": error},
    )


async def delivered(session: AsyncSession, delivery_id: int, status_code: int) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=DeliveryStatus.DELIVERED,
            attempts=WebhookDelivery.attempts + 1,
            delivered_at=func.now(),
            lease_until=None,
            last_status_code=status_code,
            last_error=None,
        )
    )


async def failed_try(
    session: AsyncSession,
    delivery_id: int,
    *,
    status_code: int | None,
    error: str,
    retry_at: datetime | None,
    retry_until: datetime,
) -> None:
    """A try that failed: due again at `retry_at`, or failed for good when it is None."""
    values: dict[str, Any] = {
        "attempts": WebhookDelivery.attempts + 1,
        "lease_until": None,
        "last_status_code": status_code,
        "last_error": error,
        "retry_until": retry_until,
    }
    if retry_at is None:
        values["status"] = DeliveryStatus.FAILED
    else:
        values["next_attempt_at"] = retry_at
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(values)
    )


async def subscription_succeeded(session: AsyncSession, sub_id: int) -> None:
    await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == sub_id, WebhookSubscription.failing_since.is_not(None))
        .values(failing_since=None)
    )


async def subscription_failed(session: AsyncSession, sub_id: int) -> datetime | None:
    """Note a failure; return since when the subscription has been failing."""
    row = await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == sub_id)
        .values(failing_since=func.coalesce(WebhookSubscription.failing_since, func.now()))
        .returning(WebhookSubscription.failing_since)
    )
    return row.scalar_one_or_none()


async def disable(
    session: AsyncSession, sub_id: int, reason: DisabledReason
) -> WebhookSubscription | None:
    """Turn a subscription off and fail what it still had to send. Returns it, unless it
    was off already (another worker got there first)."""
    row = await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == sub_id, WebhookSubscription.active)
        .values(active=False, disabled_at=func.now(), disabled_reason=reason)
        .returning(WebhookSubscription)
    )
    sub = row.scalar_one_or_none()
    if sub is not None:
        await _fail_pending(session, [sub_id])
    return sub


async def disable_created_by(session: AsyncSession, user_id: int, reason: DisabledReason) -> int:
    """Turn off every subscription `user_id` made that is still on, and fail what they
    still had to send. How many."""
    rows = await session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.created_by == user_id, WebhookSubscription.active)
        .values(active=False, disabled_at=func.now(), disabled_reason=reason)
        .returning(WebhookSubscription.id)
    )
    ids = [int(i) for i in rows.scalars() if i is not None]
    if ids:
        await _fail_pending(session, ids)
    return len(ids)


async def _fail_pending(session: AsyncSession, sub_ids: list[int]) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id.in_(sub_ids),
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.FAILED, last_error="the webhook was disabled")
    )


async def owner_of(session: AsyncSession, user_id: int) -> tuple[str, str, str, bool] | None:
    """(email, full name, locale, active) of a subscription's creator."""
    row = await session.execute(
        text("SELECT email, full_name, locale, active FROM users WHERE id = :id"), {"id": user_id}
    )
    found = row.first()
    return None if found is None else (found[0], found[1], found[2], found[3])


async def purge_older_than(session: AsyncSession, age: timedelta) -> int:
    """Old messages go, their deliveries and tries with them (ON DELETE CASCADE)."""
    done = await session.execute(
        delete(WebhookMessage).where(WebhookMessage.created_at < func.now() - age)
    )
    return int(getattr(done, "rowcount", 0) or 0)


# ---- sim.expiring ----------------------------------------------------------------------

_EXPIRING = text("""
WITH sims AS (
    SELECT d.province_code, d.donor_id, d.id,
           row_number() OVER (PARTITION BY d.province_code, d.donor_id ORDER BY d.id) - 1 AS n,
           jsonb_strip_nulls(jsonb_build_object(
               'asset_tag', d.asset_tag, 'carrier', d.carrier, 'msisdn', d.msisdn,
               'plan_name', d.plan_name, 'plan_expires_on', d.plan_expires_on,
               'days_left', d.plan_expires_on - CAST(:today AS date), 'status', d.status,
               'school_id', d.school_id, 'school_code', sc.code, 'school_name', sc.name,
               'installed_in', host.asset_tag)) AS item
      FROM devices d
      LEFT JOIN schools sc ON sc.id = d.school_id
      LEFT JOIN devices host ON host.id = d.installed_in_id
     WHERE d.kind = 'sim' AND d.status NOT IN ('retired', 'lost', 'stolen')
       AND d.plan_expires_on = ANY (CAST(:days AS date[]))
)
SELECT province_code, donor_id, count(*) AS sims, jsonb_agg(item ORDER BY id) AS items
  FROM sims GROUP BY province_code, donor_id, n / :per ORDER BY 1, 2
""")


async def expiring_sims(
    session: AsyncSession, today: date, days: Sequence[date], per_message: int
) -> list[tuple[str, int, int, list[dict[str, Any]]]]:
    """SIMs whose plan ends on one of `days`: (province, donor, count, items) per group."""
    rows = await session.execute(
        _EXPIRING, {"today": today, "days": list(days), "per": per_message}
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]

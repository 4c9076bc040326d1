"""Webhook subscriptions: who may hold one and what it receives; the events services emit.

An admin's subscription receives every event; a province officer's, the events of their
province's devices, donations, schools and SIMs; a donor's, those of its own devices,
donations and SIMs (never an audit, which is about a school). School staff hold none.
A subscription outside the caller's scope answers 404, like a missing one."""

from __future__ import annotations

import base64
import secrets
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from devicetrack.i18n import N_
from devicetrack.jobs.queue import enqueue
from devicetrack.webhooks import repository as repo
from devicetrack.webhooks import targets
from devicetrack.webhooks.limits import MAX_SUBSCRIPTIONS
from devicetrack.webhooks.models import WebhookDelivery, WebhookSubscription
from devicetrack.webhooks.payloads import message_id
from devicetrack.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from devicetrack.webhooks.values import (
    NOT_FOR_DONORS,
    DeliveryStatus,
    DisabledReason,
    WebhookEvent,
)

DISPATCH_TASK = "webhooks.dispatch"  # migration 0033's webhooks_wake() defers it by this name
SECRET_BYTES = 32


def _owner(principal: Principal) -> tuple[str | None, int | None]:
    """The (province, donor) a caller's subscriptions belong to; (None, None) for an admin."""
    if principal.is_admin:
        return None, None
    if principal.is_province_officer and principal.province_code:
        return principal.province_code, None
    if principal.is_donor and principal.donor_id is not None:
        return None, principal.donor_id
    raise Forbidden(N_("Only administrators, province officers and donors hold webhooks."))


def _read(sub: WebhookSubscription) -> WebhookRead:
    assert sub.id is not None and sub.created_at is not None
    return WebhookRead(
        id=sub.id,
        url=sub.url,
        events=[WebhookEvent(e) for e in sub.events],
        province_code=sub.province_code,
        donor_id=sub.donor_id,
        active=sub.active,
        created_at=sub.created_at,
        failing_since=sub.failing_since,
        disabled_at=sub.disabled_at,
        disabled_reason=None
        if sub.disabled_reason is None
        else DisabledReason(sub.disabled_reason),
    )


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def create(
    session: AsyncSession, principal: Principal, data: WebhookCreate, *, allow_private: bool
) -> WebhookCreated:
    province_code, donor_id = _owner(principal)
    events = sorted(set(data.events))
    if not events:
        raise ValidationFailed(
            N_("Name at least one event."),
            errors=[FieldError(field="events", message=N_("at least one event"))],
        )
    if donor_id is not None and NOT_FOR_DONORS & set(events):
        raise ValidationFailed(
            N_("A donor's webhook cannot receive audits."),
            errors=[FieldError(field="events", message=N_("audit.closed is not sent to donors"))],
        )
    url = data.url.strip()
    try:
        await targets.check(url, allow_private=allow_private)
    except targets.TargetRefused as refused:
        raise ValidationFailed(
            N_("The webhook's address is refused."),
            errors=[FieldError(field="url", message=refused.message)],
        ) from None
    # Held until the request's transaction ends: the count below and the insert are one
    # step for this owner, whatever else is creating at the same time.
    await repo.lock_owner(session, province_code, donor_id)
    if await repo.count_owned(session, province_code, donor_id) >= MAX_SUBSCRIPTIONS:
        raise Conflict(N_("At most {n} webhooks each."), n=MAX_SUBSCRIPTIONS)
    sub = WebhookSubscription(
        url=url,
        events=[str(e) for e in events],
        secret=new_secret(),
        province_code=province_code,
        donor_id=donor_id,
        created_by=principal.user_id or None,
    )
    await repo.add_subscription(session, sub)
    await session.refresh(sub)
    read = _read(sub)
    return WebhookCreated(
        **{f: getattr(read, f) for f in read.__struct_fields__}, secret=sub.secret
    )


async def _get(session: AsyncSession, principal: Principal, sub_id: int) -> WebhookSubscription:
    owner = _owner(principal)
    sub = await repo.get_subscription(session, sub_id)
    if sub is None or (not principal.is_admin and (sub.province_code, sub.donor_id) != owner):
        raise NotFound(N_("No webhook {id}."), id=sub_id)
    return sub


async def list_subscriptions(
    session: AsyncSession, principal: Principal, *, after_id: int | None, limit: int
) -> list[WebhookRead]:
    owner = _owner(principal)
    rows = await repo.list_subscriptions(
        session,
        owner=repo.ANY_OWNER if principal.is_admin else owner,
        after_id=after_id,
        limit=limit,
    )
    return [_read(s) for s in rows]


async def read(session: AsyncSession, principal: Principal, sub_id: int) -> WebhookRead:
    return _read(await _get(session, principal, sub_id))


async def delete(session: AsyncSession, principal: Principal, sub_id: int) -> None:
    await _get(session, principal, sub_id)
    await repo.delete_subscription(session, sub_id)


def _delivery_read(d: WebhookDelivery, event_type: str, tries: list[Any]) -> DeliveryRead:
    assert d.id is not None and d.created_at is not None
    pending = d.status == DeliveryStatus.PENDING
    return DeliveryRead(
        id=d.id,
        message_id=message_id(d.message_id),
        event_type=WebhookEvent(event_type),
        status=DeliveryStatus(d.status),
        attempts=d.attempts,
        created_at=d.created_at,
        next_attempt_at=d.next_attempt_at if pending else None,
        delivered_at=d.delivered_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        tries=[
            AttemptRead(
                at=t.at, status_code=t.status_code, duration_ms=t.duration_ms, error=t.error
            )
            for t in tries
        ],
    )


async def deliveries(
    session: AsyncSession,
    principal: Principal,
    sub_id: int,
    *,
    before_id: int | None,
    limit: int,
) -> list[DeliveryRead]:
    await _get(session, principal, sub_id)
    rows = await repo.deliveries(session, sub_id, before_id=before_id, limit=limit)
    return [_delivery_read(d, e, t) for d, e, t in rows]


async def redeliver(
    session: AsyncSession, principal: Principal, sub_id: int, delivery_id: int
) -> None:
    """Send a delivery again now (whatever its state), with a new retry window."""
    sub = await _get(session, principal, sub_id)
    if not sub.active:
        raise Conflict(N_("The webhook is disabled; create it again to receive events."))
    if not await repo.redeliver(session, sub_id, delivery_id):
        raise NotFound(N_("No delivery {id} of this webhook."), id=delivery_id)
    await enqueue(session, DISPATCH_TASK, {})


async def owner_deactivated(session: AsyncSession, user_id: int) -> int:
    """The subscriptions `user_id` made stop, in the transaction that deactivates them: a
    departed officer's URL must not go on receiving the province's events. They stay listed,
    off with the reason, for the scope's other holders (and admins) to see and create
    again under their own name. How many were on."""
    return await repo.disable_created_by(session, user_id, DisabledReason.OWNER_DEACTIVATED)


# ---- events the services emit (device events come from migration 0033's trigger) --------


async def donation_created(
    session: AsyncSession,
    *,
    donation_id: int,
    donor_id: int,
    province_code: str,
    reference: str,
    received_on: date | None,
    pledged: list[dict[str, Any]],
) -> None:
    await repo.emit(
        session,
        WebhookEvent.DONATION_CREATED,
        province_code=province_code,
        donor_id=donor_id,
        data={
            "id": donation_id,
            "donor_id": donor_id,
            "province_code": province_code,
            "reference": reference,
            "received_on": received_on.isoformat() if received_on else None,
            "pledged": pledged,
        },
    )


async def audit_closed(
    session: AsyncSession,
    *,
    audit_id: int,
    school: dict[str, Any],
    province_code: str,
    counts: dict[str, int],
) -> None:
    """An audit's counts (found, missing, unexpected, on loan) for its school's province:
    never a list of loans, which would name who holds what."""
    await repo.emit(
        session,
        WebhookEvent.AUDIT_CLOSED,
        province_code=province_code,
        donor_id=None,
        data={"id": audit_id, "school": school, "province_code": province_code, **counts},
    )

"""Sending what the outbox holds: the `webhooks.dispatch` job's body.

A dispatch leases a batch of due deliveries (SKIP LOCKED, so any number of workers share
the queue), posts each with httpx under a timeout, records every try, and schedules a
failed one again after a growing wait (first `webhook_retry_seconds`, ×5 each time, at
most 8 hours apart) until `webhook_retry_hours` (24) after its first failure; then it is
failed. A subscription that has failed for `webhook_disable_days` (3) without one success
is disabled and its owner told by email. A subscription whose maker has been deactivated is
disabled, not sent to, should deactivating it have been missed (accounts.users does it in
the deactivation's transaction). Redirects are not followed (the target was
checked, the place it redirects to was not)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack import __version__
from devicetrack.jobs.queue import enqueue
from devicetrack.jobs.runtime import Runtime
from devicetrack.mail import service as mail
from devicetrack.webhooks import payloads, targets
from devicetrack.webhooks import repository as repo
from devicetrack.webhooks.limits import KEEP_DAYS, SIM_EXPIRING_DAYS, SIMS_PER_MESSAGE
from devicetrack.webhooks.service import DISPATCH_TASK
from devicetrack.webhooks.values import DisabledReason, WebhookEvent

log = logging.getLogger("devicetrack.webhooks")

BATCH = 20  # deliveries leased and sent at once by one dispatch
LEASE_SECONDS = 120.0  # longer than a batch's sends can take (timeouts included)
BACKOFF_FACTOR = 5
MAX_WAIT = timedelta(hours=8)
ERROR_CHARS = 500
USER_AGENT = f"devicetrack-webhooks/{__version__}"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _send(
    client: httpx.AsyncClient, due: repo.Due, *, allow_private: bool, deadline: float
) -> Outcome:
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        # Again at every try: a name that resolved to a public address when the webhook was
        # made may point inside the network now (and the client checks what it connects to).
        await targets.check(due.url, allow_private=allow_private)
    except targets.TargetRefused as refused:
        return Outcome(None, took(), f"refused: {refused.message}")
    if due.data is None:
        return Outcome(None, took(), "the message's events could not be read")
    content = payloads.body(due.event_type, due.created_at, due.data, for_donor=due.for_donor)
    headers = payloads.signed_headers(
        due.secret, payloads.message_id(due.message_id), content, datetime.now(UTC)
    )
    try:
        # The whole try within its time, and only the status read: a receiver that answers
        # with an endless body (a byte now and then never trips a read timeout) would
        # otherwise hold the worker, and its memory, for as long as it liked.
        async with asyncio.timeout(deadline):
            async with client.stream(
                "POST",
                due.url,
                content=content,
                headers={**headers, "content-type": "application/json"},
            ) as answer:
                status_code = answer.status_code
    except TimeoutError:
        return Outcome(None, took(), f"no answer within {deadline:g} s")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # InvalidURL is no HTTPError: uncaught, it would fail the whole batch's dispatch,
        # leaving the batch's other sends unrecorded (and sent again after the lease).
        return Outcome(None, took(), f"{type(exc).__name__}: {exc}"[:ERROR_CHARS] or "error")
    error = None if 200 <= status_code < 300 else f"HTTP {status_code}"
    return Outcome(status_code, took(), error)


def next_wait(runtime: Runtime, tries_before: int) -> timedelta:
    """The wait after the (tries_before + 1)-th try failed."""
    seconds = runtime.settings.webhook_retry_seconds * BACKOFF_FACTOR**tries_before
    return min(timedelta(seconds=seconds), MAX_WAIT)


async def _record(
    session: AsyncSession, runtime: Runtime, due: repo.Due, outcome: Outcome
) -> datetime | None:
    """Record one try; return when it is to be tried again, if it is."""
    await repo.record_attempt(
        session,
        due.delivery_id,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
    )
    if outcome.ok:
        assert outcome.status_code is not None
        await repo.delivered(session, due.delivery_id, outcome.status_code)
        await repo.subscription_succeeded(session, due.subscription_id)
        return None
    settings = runtime.settings
    now = datetime.now(UTC)
    retry_until = due.retry_until or now + timedelta(hours=settings.webhook_retry_hours)
    retry_at = (
        None if now >= retry_until else min(now + next_wait(runtime, due.attempts), retry_until)
    )
    await repo.failed_try(
        session,
        due.delivery_id,
        status_code=outcome.status_code,
        error=outcome.error or "error",
        retry_at=retry_at,
        retry_until=retry_until,
    )
    since = await repo.subscription_failed(session, due.subscription_id)
    if since is not None and now - since >= timedelta(days=settings.webhook_disable_days):
        await _disable(session, runtime, due.subscription_id, since)
        return None
    return retry_at


async def _disable(session: AsyncSession, runtime: Runtime, sub_id: int, since: datetime) -> None:
    sub = await repo.disable(session, sub_id, DisabledReason.FAILING)
    if sub is None:
        return
    log.warning("webhook %s to %s disabled: failing since %s", sub_id, sub.url, since)
    owner = None if sub.created_by is None else await repo.owner_of(session, sub.created_by)
    if owner is None or not owner[3]:
        return
    email, full_name, locale, _ = owner
    await mail.compose(
        session,
        to=email,
        template="webhook_disabled",
        context={
            "full_name": full_name,
            "url": sub.url,
            "webhook_id": sub_id,
            "days": runtime.settings.webhook_disable_days,
        },
        locale=locale,
        user_id=sub.created_by,
    )


async def dispatch(runtime: Runtime) -> int:
    """Send every delivery due now; return how many tries were made."""
    settings = runtime.settings
    tried = 0
    async with targets.client(
        httpx.Timeout(settings.webhook_timeout_seconds, connect=5.0),
        allow_private=settings.webhook_allow_private,
        user_agent=USER_AGENT,
    ) as client:
        while True:
            async with runtime.transaction() as session:
                batch = await repo.claim_due(session, limit=BATCH, lease_seconds=LEASE_SECONDS)
            if not batch:
                return tried
            orphaned = {d.subscription_id for d in batch if not d.owner_active}
            batch = [d for d in batch if d.owner_active]
            allow = settings.webhook_allow_private
            # Connecting (5 s) and the answer's headers (the timeout): well within the lease.
            deadline = settings.webhook_timeout_seconds + 5.0
            outcomes = await asyncio.gather(
                *(_send(client, d, allow_private=allow, deadline=deadline) for d in batch)
            )
            async with runtime.transaction() as session:
                for sub_id in sorted(orphaned):
                    # Its pending deliveries, the leased ones with them, fail unsent.
                    if await repo.disable(session, sub_id, DisabledReason.OWNER_DEACTIVATED):
                        log.warning("webhook %s disabled: its owner is deactivated", sub_id)
                retries: set[datetime] = set()
                for due, outcome in zip(batch, outcomes, strict=True):
                    retry_at = await _record(session, runtime, due, outcome)
                    if retry_at is not None:
                        retries.add(retry_at.replace(microsecond=0) + timedelta(seconds=1))
                for at in sorted(retries):
                    await enqueue(session, DISPATCH_TASK, {}, at=at)
            tried += len(batch)
            if batch:
                failed = sum(not o.ok for o in outcomes)
                log.info("webhooks: %s sent, %s failed", len(batch) - failed, failed)


async def sim_expiring(session: AsyncSession, runtime: Runtime, period: str) -> str:
    """The day's sim.expiring messages: SIMs whose plan ends in 30, 14, 7 or 1 days, one
    message per province and donor (and 500 SIMs)."""
    today = date.fromisoformat(period)
    days = [today + timedelta(days=n) for n in SIM_EXPIRING_DAYS]
    messages = sims = 0
    for province, donor, count, items in await repo.expiring_sims(
        session, today, days, SIMS_PER_MESSAGE
    ):
        made = await repo.emit(
            session,
            WebhookEvent.SIM_EXPIRING,
            province_code=province,
            donor_id=donor,
            data={
                "province_code": province,
                "donor_id": donor,
                "date": period,
                "count": count,
                "sims": items,
            },
        )
        if made is not None:
            messages, sims = messages + 1, sims + count
    return f"{messages} sim.expiring messages naming {sims} SIMs"


async def purge(session: AsyncSession, runtime: Runtime, period: str) -> str:
    removed = await repo.purge_older_than(session, timedelta(days=KEEP_DAYS))
    return f"{removed} webhook messages older than {KEEP_DAYS} days removed"

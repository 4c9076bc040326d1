"""Queries on idempotency_keys, all inside the request's own transaction."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.idempotency.models import IdempotencyKey
from devicetrack.idempotency.values import Kept

TABLE = IdempotencyKey.__table__


def _cutoff(hours: int) -> Any:
    return func.now() - func.make_interval(0, 0, 0, 0, hours)


async def try_lock(session: AsyncSession, user_id: int, key: str) -> bool:
    """Take the key for this transaction, or say another transaction holds it.

    A transaction-scoped advisory lock on (caller, key): a request that arrives while one
    with the same key is still running gets False at once instead of waiting (the draft's
    409). It is released by the commit, after the commit is visible, so whoever takes it
    next sees the row the first one wrote."""
    name = f"idempotency:{user_id}:{key}"
    locked = await session.scalar(
        select(func.pg_try_advisory_xact_lock(func.hashtextextended(name, 0)))
    )
    return bool(locked)


async def find(session: AsyncSession, user_id: int, key: str, hours: int) -> Any | None:
    """The key's row with `fresh` telling whether it is younger than the retention.
    A separate statement from try_lock: under READ COMMITTED it takes its snapshot after
    the lock was granted."""
    query = select(
        TABLE.c.fingerprint,
        TABLE.c.kept,
        TABLE.c.status,
        TABLE.c.headers,
        TABLE.c.body,
        TABLE.c.student_ids,
        (TABLE.c.created_at > _cutoff(hours)).label("fresh"),
    ).where(TABLE.c.user_id == user_id, TABLE.c.key == key)
    return (await session.execute(query)).first()


async def forget(session: AsyncSession, user_id: int, key: str) -> None:
    await session.execute(delete(TABLE).where(TABLE.c.user_id == user_id, TABLE.c.key == key))


async def keep(
    session: AsyncSession,
    *,
    user_id: int,
    key: str,
    fingerprint: str,
    kept: str,
    status: int,
    headers: list[list[str]],
    body: bytes | None,
    student_ids: list[int],
) -> None:
    """Record the answer. ON CONFLICT DO NOTHING only for a streamed request run again
    under its existing row; under the lock nobody else writes this key."""
    statement = pg_insert(TABLE).values(
        user_id=user_id,
        key=key,
        fingerprint=fingerprint,
        kept=kept,
        status=status,
        headers=headers,
        body=body,
        student_ids=student_ids,
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "key"]))


async def purge_expired(session: AsyncSession, hours: int, limit: int | None = None) -> int:
    """Delete keys older than the retention, oldest first; `limit` bounds one sweep.
    Rows another transaction is deleting are skipped rather than waited for."""
    old = (
        select(TABLE.c.user_id, TABLE.c.key)
        .where(TABLE.c.created_at < _cutoff(hours))
        .order_by(TABLE.c.created_at)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        old = old.limit(limit)
    result = await session.execute(
        delete(TABLE).where(tuple_(TABLE.c.user_id, TABLE.c.key).in_(old))
    )
    # A DELETE's result is a CursorResult, which has the count; execute() is typed as Result.
    return int(cast(CursorResult[Any], result).rowcount or 0)


async def forget_answers_naming(session: AsyncSession, student_id: int) -> None:
    """Drop the body and headers of every kept answer that names this student; the row
    stays (as Kept.ERASED) so that a repeat is still never carried out twice."""
    await session.execute(
        update(TABLE)
        .where(TABLE.c.student_ids.contains([student_id]), TABLE.c.student_ids != [])
        .values(kept=Kept.ERASED, body=None, headers=[], student_ids=[])
    )

"""Enqueueing a job in the caller's transaction.

procrastinate's own `defer` takes a connection of its pool (psycopg), so a job deferred
there is committed whether or not the request that asked for it is. Calling procrastinate's
SQL function on the request's own connection instead makes the job part of the change:
rolled back together, committed together, and the worker woken by the insert's NOTIFY,
which PostgreSQL delivers at commit. The function is the one procrastinate's defer calls
(its schema is created by our migration 0019; tests/test_jobs.py checks the signature)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_QUEUE = "default"

_DEFER = text(
    """SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
           CAST(:queue AS varchar), CAST(:task AS varchar), CAST(:priority AS integer),
           CAST(:lock AS text), CAST(:queueing_lock AS text), CAST(:args AS jsonb),
           CAST(:at AS timestamptz)
       )]::procrastinate_job_to_defer_v1[])) AS id"""
)


async def enqueue(
    session: AsyncSession,
    task: str,
    args: dict[str, Any],
    *,
    at: datetime | None = None,
    queueing_lock: str | None = None,
    lock: str | None = None,
    priority: int = 0,
    queue: str = DEFAULT_QUEUE,
) -> int | None:
    """Put `task(**args)` on the queue, to run once the caller's transaction commits (not
    before `at`, if given). With a `queueing_lock`, a job already waiting under that lock
    makes this one unnecessary: None is returned and nothing is added."""
    params = {
        "queue": queue,
        "task": task,
        "priority": priority,
        "lock": lock,
        "queueing_lock": queueing_lock,
        "args": json.dumps(args),
        "at": at,
    }
    if queueing_lock is None:
        return int((await session.execute(_DEFER, params)).scalar_one())
    try:
        async with session.begin_nested():
            return int((await session.execute(_DEFER, params)).scalar_one())
    except IntegrityError as exc:
        if "procrastinate_jobs_queueing_lock_idx" in str(exc.orig):
            return None
        raise

"""Periodic jobs: what they are, and the claim that makes each period's work happen once.

procrastinate already defers a periodic task once per scheduled time, however many workers
run. That is not enough: a job retried after a crash, a worker restarted after a missed
night, or an operator's `devicetrack jobs run NAME` would do a day's work again. So the
work of a period begins by inserting (job, period) into job_runs, in the same transaction
as the work itself: a second run of that period finds the row and does nothing, a run that
fails rolls its claim back with its work, and two runs at once take turns on the key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.jobs.runtime import Runtime
from devicetrack.jobs.schedule import Schedule

# What a periodic job does for one period, in the transaction that claimed it. It returns
# a line for the operator ("3 students pseudonymised").
Work = Callable[[AsyncSession, Runtime, str], Awaitable[str]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    schedule: Schedule
    work: Work
    about: str


@dataclass(frozen=True)
class Outcome:
    job: str
    period: str
    done: bool  # False: the period's work had already been done
    summary: str


_CLAIM = text(
    "INSERT INTO job_runs (job, period) VALUES (:job, :period) ON CONFLICT DO NOTHING RETURNING job"
)
_SUMMARY = text("UPDATE job_runs SET summary = :summary WHERE job = :job AND period = :period")


async def claim_period(session: AsyncSession, job: str, period: str) -> bool:
    """True when this transaction is the one to do `job`'s work for `period`. A run of the
    same period in another transaction waits here until this one ends, then sees its row
    (committed) or takes the claim itself (rolled back)."""
    row = await session.execute(_CLAIM, {"job": job, "period": period})
    return row.first() is not None


async def run_once(
    session: AsyncSession, runtime: Runtime, job: PeriodicJob, when: datetime
) -> Outcome:
    """Do `job`'s work for the period `when` falls in, unless it was done; the caller
    commits."""
    period = job.schedule.period(when)
    if not await claim_period(session, job.name, period):
        return Outcome(job.name, period, done=False, summary="already done for this period")
    summary = await job.work(session, runtime, period)
    await session.execute(_SUMMARY, {"job": job.name, "period": period, "summary": summary})
    return Outcome(job.name, period, done=True, summary=summary)

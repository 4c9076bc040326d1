"""The one lock order for writes that move a school's coverage counters.

The counter triggers (migrations 0004, 0006, 0007) update `school_counts` from inside the
statements that change devices, students, loans and audits. Every request that can change a
school's counters therefore takes that school's counter row FIRST — before any device,
student, loan or audit row — after it has checked the caller's scope with plain reads. Two
requests then meet on the counter row and wait there, holding nothing else: no cycle.
(Measured under load before this rule: a loan and a return for one student deadlocked, and
a stale snapshot could leave `students_with_device` wrong.)

`relock` is the whole sequence for a row that was read (for its scope) before the lock:
take the counter rows, read the row again FOR UPDATE, and refuse if it moved to another
school in between (its new school's counters are not the ones locked). Every write that
changes one device, student, loan or audit goes through it; writes that first reach their
rows under the lock (allocating, receiving, the intake's updates) call
`lock_school_counters` and then lock the rows themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.errors import Conflict
from devicetrack.i18n import N_

T = TypeVar("T")

DEVICE_MOVED = N_("The device moved to another school meanwhile; try again.")
STUDENT_MOVED = N_("The student moved to another school meanwhile; try again.")


async def lock_school_counters(session: AsyncSession, *school_ids: int | None) -> None:
    """Take the counter rows of these schools, in id order (several schools: a transfer, a
    student moving), creating a row a school does not have yet."""
    ids = sorted({i for i in school_ids if i is not None})
    if not ids:
        return
    await session.execute(
        text(
            "INSERT INTO school_counts (school_id) SELECT unnest(CAST(:ids AS int[]))"
            " ON CONFLICT DO NOTHING"
        ).bindparams(ids=ids)
    )
    await session.execute(
        text(
            "SELECT 1 FROM school_counts WHERE school_id = ANY(CAST(:ids AS int[]))"
            " ORDER BY school_id FOR UPDATE"
        ).bindparams(ids=ids)
    )


async def relock(
    session: AsyncSession,
    school_id: int | None,
    reread: Callable[[], Awaitable[T]],
    school_of: Callable[[T], int | None],
    *,
    also: tuple[int | None, ...] = (),
    moved: str = DEVICE_MOVED,
) -> T:
    """Lock the counters of `school_id` (the school the row was at when read) and of `also`,
    then `reread` the row FOR UPDATE; `moved` if `school_of` it is no longer `school_id`."""
    await lock_school_counters(session, school_id, *also)
    row = await reread()
    if school_of(row) != school_id:
        raise Conflict(moved)
    return row

"""The one lock order for writes that move a school's coverage counters.

The counter triggers (migrations 0004, 0006, 0007) update `school_counts` from inside the
statements that change devices, students, loans and audits. Every request that can change a
school's counters therefore takes that school's counter row FIRST — before any device,
student, loan or audit row — after it has checked the caller's scope with plain reads. Two
requests then meet on the counter row and wait there, holding nothing else: no cycle.
(Measured under load before this rule: a loan and a return for one student deadlocked, and
a stale snapshot could leave `students_with_device` wrong.)"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


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

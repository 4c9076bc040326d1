"""Arranging coverage: a school's enrolment for a school year."""

from __future__ import annotations

import asyncpg

from devicetrack.common.clock import local_today
from devicetrack.reports.service import current_school_year


async def enrol(db: asyncpg.Pool, school: int, total: int, year: str | None = None) -> None:
    """The school's enrolment (no priority students), this school year unless `year`."""
    await db.execute(
        """INSERT INTO enrolments (school_id, school_year, students_total, priority_students)
           VALUES ($1, $2, $3, 0)""",
        school,
        year or current_school_year(local_today()),
        total,
    )

from __future__ import annotations

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.models import User
from devicetrack.privacy.models import StudentAccess
from devicetrack.students.models import Student


async def record(session: AsyncSession, user_id: int, student_ids: list[int], route: str) -> None:
    """One row per student in one statement, however long the list."""
    await session.execute(
        text(
            "INSERT INTO student_access_log (user_id, student_id, route)"
            " SELECT :user_id, unnest(CAST(:ids AS int[])), :route"
        ).bindparams(user_id=user_id, ids=student_ids, route=route)
    )


async def list_access(
    session: AsyncSession,
    *,
    where: list[ColumnElement[bool]],
    before_id: int | None,
    limit: int | None,
) -> list[tuple[StudentAccess, str | None, str | None, str | None, int | None]]:
    """Newest first; `limit + 1` rows (the caller tells whether more follow), or all."""
    query = (
        select(StudentAccess, User.full_name, User.role, Student.student_code, Student.school_id)
        # Outer joins: a row of the log is shown whatever became of the row it names.
        .outerjoin(User, User.id == StudentAccess.user_id)  # type: ignore[arg-type]
        .outerjoin(Student, Student.id == StudentAccess.student_id)  # type: ignore[arg-type]
        .where(*where)
        .order_by(StudentAccess.id.desc())  # type: ignore[union-attr]
    )
    if limit is not None:
        query = query.limit(limit + 1)
    if before_id is not None:
        query = query.where(StudentAccess.id < before_id)  # type: ignore[operator]
    return [tuple(row) for row in await session.execute(query)]  # type: ignore[misc]


async def due_for_retention(session: AsyncSession, months: int) -> list[int]:
    """Students who left or graduated more than `months` calendar months ago and still hold
    personal data (PostgreSQL's interval arithmetic: 24 months before 31 March is 31 March)."""
    rows = await session.execute(
        select(Student.id)
        .where(
            Student.status != "active",
            Student.left_at < text("now() - make_interval(months => :months)"),  # type: ignore[operator]
            Student.erased_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(Student.id),
        {"months": months},
    )
    return list(rows.scalars())

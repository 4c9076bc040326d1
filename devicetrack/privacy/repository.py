from __future__ import annotations

from sqlalchemy import ColumnElement, column, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.models import User
from devicetrack.privacy.models import StudentAccess

# The log sits below the students domain (which writes to it), so it names the two columns
# it shows of a student by a light table clause instead of importing the model.
Student = table("students", column("id"), column("student_code"), column("school_id"))


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
        select(
            StudentAccess, User.full_name, User.role, Student.c.student_code, Student.c.school_id
        )
        # Outer joins: a row of the log is shown whatever became of the row it names.
        .outerjoin(User, User.id == StudentAccess.user_id)
        .outerjoin(Student, Student.c.id == StudentAccess.student_id)
        .where(*where)
        .order_by(StudentAccess.id.desc())
    )
    if limit is not None:
        query = query.limit(limit + 1)
    if before_id is not None:
        query = query.where(StudentAccess.id < before_id)
    return [tuple(row) for row in await session.execute(query)]

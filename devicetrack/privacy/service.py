"""The child's access log and the retention sweep (Law 91/2025 on personal data protection,
Decree 356/2025).

Every answer that carries a student's personal fields (name, national ID, birth year,
guardian) writes who read which student, when and through which route into the append-only
`student_access_log`: one row per student shown, lists included, in one statement. Only
admins list the log; the student's own export (the family's copy of everything held about
the child) includes it. Students who left or graduated more than the retention period ago
are pseudonymised by the very erasure the school's staff use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Request
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.errors import Conflict, Forbidden
from devicetrack.privacy import repository as repo
from devicetrack.privacy.models import StudentAccess
from devicetrack.privacy.schemas import AccessRead, SweepResult
from devicetrack.students import service as students
from devicetrack.students.schemas import AssignmentRead, StudentRead

# The sweep acts for the installation, as the command line does (auth/cli.py): it passes
# erasure's checks as an admin would, and reads nothing, so it writes no access row.
RETENTION = Principal(user_id=0, email="retention", full_name="retention sweep", role="admin")


def route_of(request: Request[Any, Any, Any]) -> str:
    """The method and path, never the query string (a search may hold a name)."""
    return f"{request.method} {request.url.path}"


async def record_reads(
    session: AsyncSession,
    principal: Principal,
    route: str,
    reads: Iterable[StudentRead | AssignmentRead],
) -> None:
    """Log the students whose personal fields these answers carry to this caller (the same
    rule that put them there: students.sees_personal_data)."""
    ids = sorted(
        {
            read.student_id if isinstance(read, AssignmentRead) else read.id
            for read in reads
            if students.sees_personal_data(principal, read.school_id)
        }
    )
    if ids:
        await repo.record(session, principal.user_id, ids, route)


def ensure_log_reader(principal: Principal) -> None:
    # Checked before anything is looked up: a refusal says nothing about which ids exist.
    if not principal.is_admin:
        raise Forbidden("Only administrators read the access log.")


def _access_read(
    row: tuple[StudentAccess, str | None, str | None, str | None, int | None],
) -> AccessRead:
    access, user_name, user_role, student_code, school_id = row
    return AccessRead(
        id=access.id or 0,
        at=access.at,  # type: ignore[arg-type]
        user_id=access.user_id,
        user_name=user_name,
        user_role=user_role,
        student_id=access.student_id,
        student_code=student_code,
        school_id=school_id,
        route=access.route,
    )


async def list_access(
    session: AsyncSession,
    principal: Principal,
    *,
    student_id: int | None = None,
    user_id: int | None = None,
    before_id: int | None = None,
    limit: int,
) -> list[AccessRead]:
    """Newest first; `limit + 1` rows so the caller can tell whether more follow."""
    ensure_log_reader(principal)
    if student_id is not None:
        await students.get_student(session, principal, student_id)  # 404 for an unknown id
    where: list[ColumnElement[bool]] = []
    if student_id is not None:
        where.append(StudentAccess.student_id == student_id)  # type: ignore[arg-type]
    if user_id is not None:
        where.append(StudentAccess.user_id == user_id)  # type: ignore[arg-type]
    rows = await repo.list_access(session, where=where, before_id=before_id, limit=limit)
    return [_access_read(r) for r in rows]


async def access_log_of(session: AsyncSession, student_id: int) -> list[AccessRead]:
    """The whole log of one student, oldest first, for the student's export (whose caller
    the export has already checked)."""
    rows = await repo.list_access(
        session,
        where=[StudentAccess.student_id == student_id],  # type: ignore[list-item]
        before_id=None,
        limit=None,
    )
    return [_access_read(r) for r in reversed(rows)]


async def sweep_retention(session: AsyncSession, *, months: int) -> SweepResult:
    """Pseudonymise every student who left or graduated more than `months` months ago, by
    the same erasure as DELETE /students/{id}. Idempotent: an erased student is not due any
    more. Each erasure in its own savepoint, so one refused (a device still lent) does not
    undo the others; the caller commits."""
    if months < 1:
        raise ValueError("the retention period is at least one month")
    pseudonymised = skipped = 0
    for student_id in await repo.due_for_retention(session, months):
        try:
            async with session.begin_nested():
                await students.erase_student(session, RETENTION, student_id)
        except Conflict:
            skipped += 1
        else:
            pseudonymised += 1
    return SweepResult(pseudonymised=pseudonymised, skipped=skipped)

"""The child's access log and the retention sweep (Law 91/2025 on personal data protection,
Decree 356/2025).

Every answer that carries a student's personal fields (name, national ID, birth year,
guardian) writes who read which student, when and through which route into the append-only
`student_access_log`: one row per student shown, lists included, in one statement. Only
admins list the log; the student's own export (the family's copy of everything held about
the child) includes it. The retention sweep lives with the students (students/retention.py):
it erases by the very erasure the school's staff use."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.errors import Forbidden
from devicetrack.i18n import N_
from devicetrack.privacy import repository as repo
from devicetrack.privacy.models import StudentAccess
from devicetrack.privacy.schemas import AccessRead


def route_of(request: Request[Any, Any, Any]) -> str:
    """The method and path, never the query string (a search may hold a name)."""
    return f"{request.method} {request.url.path}"


# The request's session notes every student whose personal fields its answer carries (reads
# and writes alike), so that a kept answer (idempotency) knows whom it names: sending it
# again is a read of those children, and erasing one of them drops it.
NAMED = "students_named"


def note_named(session: AsyncSession, ids: list[int]) -> None:
    """These students' personal fields are in the request's answer (see NAMED)."""
    named: set[int] = session.info.setdefault(NAMED, set())
    named.update(ids)


def students_named(session: AsyncSession) -> list[int]:
    return sorted(session.info.get(NAMED, ()))


async def record(session: AsyncSession, principal: Principal, route: str, ids: list[int]) -> None:
    """Log that these students' personal fields reached this caller (the students domain
    decides which ones did: students.access_log.record_reads)."""
    await record_for_user(session, principal.user_id, route, ids)


async def record_for_user(session: AsyncSession, user_id: int, route: str, ids: list[int]) -> None:
    if ids:
        note_named(session, ids)
        await repo.record(session, user_id, sorted(set(ids)), route)


def ensure_log_reader(principal: Principal) -> None:
    # Checked before anything is looked up: a refusal says nothing about which ids exist.
    if not principal.is_admin:
        raise Forbidden(N_("Only administrators read the access log."))


def _access_read(
    row: tuple[StudentAccess, str | None, str | None, str | None, int | None],
) -> AccessRead:
    access, user_name, user_role, student_code, school_id = row
    assert access.at is not None  # set by the database on insert
    return AccessRead(
        id=access.id or 0,
        at=access.at,
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
    where: list[ColumnElement[bool]] = []
    if student_id is not None:
        where.append(StudentAccess.student_id == student_id)
    if user_id is not None:
        where.append(StudentAccess.user_id == user_id)
    rows = await repo.list_access(session, where=where, before_id=before_id, limit=limit)
    return [_access_read(r) for r in rows]


async def access_log_of(session: AsyncSession, student_id: int) -> list[AccessRead]:
    """The whole log of one student, oldest first, for the student's export (whose caller
    the export has already checked)."""
    rows = await repo.list_access(
        session,
        where=[StudentAccess.student_id == student_id],
        before_id=None,
        limit=None,
    )
    return [_access_read(r) for r in reversed(rows)]

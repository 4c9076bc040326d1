"""Which students' personal fields an answer carries, written to the child's access log
(devicetrack/privacy holds the log itself; the students domain decides what was shown, by
the same rule that put the fields there: service.sees_personal_data)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.privacy import service as log
from devicetrack.privacy.schemas import AccessRead
from devicetrack.privacy.service import access_log_of, route_of
from devicetrack.students import service as students
from devicetrack.students.schemas import AssignmentRead, ConsentRead, LoanRead, StudentRead

__all__ = ["access_log_of", "list_access", "note_answer", "record_reads", "route_of"]


def _shown(
    principal: Principal, reads: Iterable[StudentRead | AssignmentRead | LoanRead]
) -> list[int]:
    ids = [
        read.id if isinstance(read, StudentRead) else read.student_id
        for read in reads
        if students.sees_personal_data(principal, read.school_id)
    ]
    return [i for i in ids if i is not None]


def note_answer(
    principal: Principal, session: AsyncSession, read: StudentRead | AssignmentRead | ConsentRead
) -> None:
    """A write's answer that carries a student's personal fields (the record just made or
    changed, the loan, the consent's guardian): not a read of the log's kind, but noted,
    so that a copy kept for a retried request is dropped when the child is erased."""
    if isinstance(read, ConsentRead):
        log.note_named(session, [read.student_id])
    else:
        log.note_named(session, _shown(principal, [read]))


async def record_reads(
    session: AsyncSession,
    principal: Principal,
    route: str,
    reads: Iterable[StudentRead | AssignmentRead | LoanRead],
) -> None:
    """Log the students whose personal fields these answers carry to this caller."""
    await log.record(session, principal, route, _shown(principal, reads))


async def list_access(
    session: AsyncSession,
    principal: Principal,
    *,
    student_id: int | None = None,
    user_id: int | None = None,
    before_id: int | None = None,
    limit: int,
) -> list[AccessRead]:
    """The log, newest first (admins only; an unknown student answers 404)."""
    log.ensure_log_reader(principal)
    if student_id is not None:
        await students.get_student(session, principal, student_id)
    return await log.list_access(
        session,
        principal,
        student_id=student_id,
        user_id=user_id,
        before_id=before_id,
        limit=limit,
    )

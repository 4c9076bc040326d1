"""Everything held about one student, for the school's staff and admins (a data-subject
request): the record, the consents and the loans."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.students import assignments, service
from devicetrack.students.schemas import StudentExport


async def export_student(
    session: AsyncSession, principal: Principal, student_id: int
) -> StudentExport:
    student, consent = await service.get_student(session, principal, student_id)
    service.ensure_student_writer(principal, student.school_id)
    return StudentExport(
        student=service.student_read(principal, student, consent),
        consents=await service.list_consents(session, principal, student_id),
        assignments=await assignments.student_assignments(session, principal, student_id),
    )

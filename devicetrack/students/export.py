"""Everything held about one student, for the school's staff and admins (a data-subject
request): the record, the consents, the loans, the signatures and photos of signed paper
kept with them (listed; each downloadable), and who has read the student's personal
fields (the access log, this export's own read included)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.evidence import repository as evidence
from devicetrack.evidence.schemas import evidence_read
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments, service
from devicetrack.students.schemas import StudentExport


async def export_student(
    session: AsyncSession, principal: Principal, student_id: int, route: str
) -> StudentExport:
    """`route`: the request that asks, written to the access log before it is read."""
    student, consent = await service.get_student(session, principal, student_id)
    service.ensure_student_writer(principal, student.school_id)
    read = service.student_read(principal, student, consent)
    await privacy.record_reads(session, principal, route, [read])
    return StudentExport(
        student=read,
        consents=await service.list_consents(session, principal, student_id),
        assignments=await assignments.student_assignments(session, principal, student_id),
        access_log=await privacy.access_log_of(session, student_id),
        evidence=[
            evidence_read(row)
            for row in await evidence.listed(session, evidence.of_student(student_id))
        ],
    )

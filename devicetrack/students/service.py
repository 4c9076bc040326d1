"""Students, consents, and their personal data. A student's name, national ID, birth year
and guardian reach only the staff of the student's school and admins; everyone else sees
the pseudonymous student_code, grade and flags."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, any_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.common.convert import given
from devicetrack.common.dates import check_event_dates
from devicetrack.common.tabular import clean_cell
from devicetrack.db.counters import STUDENT_MOVED, relock
from devicetrack.db.search import contains_pattern, folded_contains
from devicetrack.devices.identity import normalise_msisdn
from devicetrack.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from devicetrack.evidence import repository as evidence
from devicetrack.i18n import N_, Term
from devicetrack.idempotency import service as idempotency
from devicetrack.mail import service as mail
from devicetrack.schools import service as schools
from devicetrack.schools.models import School
from devicetrack.schools.repository import visible_schools
from devicetrack.students import repository as repo
from devicetrack.students.models import Consent, Student
from devicetrack.students.schemas import (
    ConsentCreate,
    ConsentRead,
    StudentCreate,
    StudentMove,
    StudentRead,
    StudentUpdate,
)

ERASED = "(đã xoá / erased)"


def sees_personal_data(principal: Principal, school_id: int) -> bool:
    return principal.is_admin or (principal.is_school_staff and school_id in principal.school_ids)


def ensure_student_reader(principal: Principal) -> None:
    if principal.is_donor:
        raise Forbidden(N_("Donors do not see students."))


def ensure_student_writer(principal: Principal, school_id: int) -> None:
    if not sees_personal_data(principal, school_id):
        raise Forbidden(N_("Only the school's staff manage its students."))


def student_read(principal: Principal, student: Student, has_consent: bool) -> StudentRead:
    base = StudentRead(
        id=student.id or 0,
        school_id=student.school_id,
        student_code=student.student_code,
        grade=student.grade,
        class_name=student.class_name,
        priority=list(student.priority),
        status=student.status,
        has_consent=has_consent,
        erased=student.erased_at is not None,
        has_device=student.has_device,
    )
    if sees_personal_data(principal, student.school_id):
        base.full_name = student.full_name
        base.national_id = student.national_id
        base.birth_year = student.birth_year
        base.guardian_name = student.guardian_name
        base.guardian_phone = student.guardian_phone
    return base


def consent_read(principal: Principal, consent: Consent, school_id: int) -> ConsentRead:
    read = ConsentRead(
        id=consent.id or 0,
        student_id=consent.student_id,
        subject=consent.subject,
        method=consent.method,
        given_at=consent.given_at,
        withdrawn_at=consent.withdrawn_at,
    )
    if sees_personal_data(principal, school_id):
        read.given_by = consent.given_by
        read.evidence = consent.evidence
    return read


async def get_student(
    session: AsyncSession, principal: Principal, student_id: int, *, for_update: bool = False
) -> tuple[Student, bool]:
    ensure_student_reader(principal)
    found = await repo.get_student(session, student_id, for_update=for_update)
    if found is None:
        raise NotFound(N_("No student {id}."), id=student_id)
    # Visible when the student's school is.
    await schools.get_school(session, principal, found[0].school_id)
    return found


async def relock_student(
    session: AsyncSession,
    principal: Principal,
    seen: Student,
    *,
    also: tuple[int | None, ...] = (),
) -> tuple[Student, bool]:
    """The student read before, again FOR UPDATE after their school's counters (and `also`'s)
    are locked; refused if they moved to another school in between (db/counters.py)."""
    student_id = seen.id or 0
    return await relock(
        session,
        seen.school_id,
        lambda: get_student(session, principal, student_id, for_update=True),
        lambda found: found[0].school_id,
        also=also,
        moved=STUDENT_MOVED,
    )


def _duplicate(exc: IntegrityError) -> Conflict | None:
    if "uq_students_school_id_student_code" in str(exc.orig):
        return Conflict(
            N_("This school already has a student with this code."),
            errors=[FieldError(field="student_code", message=N_("already used at this school"))],
        )
    return None


def guardian_phone(value: str | None) -> str | None:
    """A guardian's phone stored like every number here: +84 and the national number."""
    if value is None or not value.strip():
        return None
    phone, problem = normalise_msisdn(value)
    if problem:
        raise ValidationFailed(
            N_("The guardian's phone number is not a Vietnamese number."),
            errors=[FieldError(field="guardian_phone", message=problem)],
        )
    return phone


async def create_student(
    session: AsyncSession, principal: Principal, data: StudentCreate
) -> StudentRead:
    ensure_student_reader(principal)
    await schools.get_school(session, principal, data.school_id)
    ensure_student_writer(principal, data.school_id)
    student = Student(
        school_id=data.school_id,
        student_code=data.student_code.strip(),
        full_name=clean_cell(data.full_name),
        grade=data.grade,
        class_name=data.class_name,
        priority=sorted(set(data.priority)),
        national_id=data.national_id,
        birth_year=data.birth_year,
        guardian_name=clean_cell(data.guardian_name) if data.guardian_name else None,
        guardian_phone=guardian_phone(data.guardian_phone),
        status=data.status,
    )
    try:
        async with session.begin_nested():
            await repo.add_student(session, student)
    except IntegrityError as exc:
        raise (_duplicate(exc) or exc) from None
    return student_read(principal, student, False)


async def list_students(
    session: AsyncSession,
    principal: Principal,
    *,
    school_id: int | None = None,
    grade: int | None = None,
    class_name: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    has_device: bool | None = None,
    q: str | None = None,
    after_id: int | None = None,
    limit: int,
) -> list[StudentRead]:
    ensure_student_reader(principal)
    where: list[ColumnElement[bool]] = [
        Student.school_id.in_(select(School.id).where(visible_schools(principal)))
    ]
    if school_id is not None:
        where.append(Student.school_id == school_id)
    if grade is not None:
        where.append(Student.grade == grade)
    if class_name:
        where.append(Student.class_name == class_name)
    if status:
        where.append(Student.status == status)
    if priority:
        where.append(any_(Student.priority) == priority)
    if has_device is not None:
        where.append(Student.has_device == has_device)
    if q:
        clauses: list[ColumnElement[bool]] = [Student.student_code.ilike(contains_pattern(q))]
        if principal.is_admin or principal.is_school_staff:
            # Name search only where names may be seen: staff search their schools only.
            clauses.append(folded_contains(Student.full_name, q))
        where.append(or_(*clauses))
    rows = await repo.list_students(session, where=where, after_id=after_id, limit=limit)
    return [student_read(principal, s, c) for s, c in rows]


async def students_borrowing(session: AsyncSession, school_id: int) -> int:
    """How many students have a device on loan from the school, beside its devices per
    status (the caller checked the school's scope, as for devices.status_counts)."""
    return await repo.students_borrowing(session, school_id)


async def update_student(
    session: AsyncSession, principal: Principal, student_id: int, data: StudentUpdate
) -> StudentRead:
    student, _ = await get_student(session, principal, student_id)
    ensure_student_writer(principal, student.school_id)
    student, has_consent = await relock_student(session, principal, student)
    if student.erased_at is not None:
        raise Conflict(N_("This student's personal data was erased; the record is closed."))
    changes = given(data)
    status = changes.get("status")
    leaving = status is not None and status != "active" and student.status == "active"
    if leaving and await repo.open_assignment_count(session, student_id):
        # A device lent to someone no longer at the school would fall out of every count.
        raise Conflict(
            N_("The student still holds devices; take them back before marking them {status}."),
            status=Term(status),
        )
    phone = changes.get("guardian_phone")
    if phone is not None and phone != student.guardian_phone:
        # Checked when it changes: a number stored before phones were checked does not
        # block an edit of the student's grade.
        changes["guardian_phone"] = guardian_phone(phone)
    if "full_name" in changes:
        changes["full_name"] = clean_cell(changes["full_name"])
    if "guardian_name" in changes and changes["guardian_name"] is not None:
        changes["guardian_name"] = clean_cell(changes["guardian_name"])
    if "priority" in changes:
        changes["priority"] = sorted(set(changes["priority"]))
    for name, value in changes.items():
        setattr(student, name, value)
    await session.flush()
    await session.refresh(student)
    return student_read(principal, student, has_consent)


async def move_student(
    session: AsyncSession, principal: Principal, student_id: int, data: StudentMove
) -> StudentRead:
    student, _ = await get_student(session, principal, student_id)
    target = await schools.get_school(session, principal, data.school_id)
    student, has_consent = await relock_student(session, principal, student, also=(target.id,))
    if not (
        principal.is_admin
        or principal.is_province_officer
        or (principal.is_school_staff and {student.school_id, target.id} <= principal.school_ids)
    ):
        raise Forbidden(N_("Moving a student needs the staff of both schools or the province."))
    if target.id == student.school_id:
        raise Conflict(N_("The student is already at that school."))
    if await repo.open_assignment_count(session, student_id):
        raise Conflict(N_("The student still holds devices of this school; return them first."))
    student.school_id = target.id or 0
    if data.student_code:
        student.student_code = data.student_code
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise (_duplicate(exc) or exc) from None
    return student_read(principal, student, has_consent)


def _age(student: Student, on: date) -> int | None:
    return on.year - student.birth_year if student.birth_year else None


async def add_consent(
    session: AsyncSession, principal: Principal, student_id: int, data: ConsentCreate
) -> ConsentRead:
    student, _ = await get_student(session, principal, student_id)
    ensure_student_writer(principal, student.school_id)
    if student.erased_at is not None:
        raise Conflict(N_("This student's personal data was erased; the record is closed."))
    if data.given_at > local_today():
        raise ValidationFailed(
            N_("Consent cannot be dated in the future."),
            errors=[FieldError(field="given_at", message=N_("in the future"))],
        )
    check_event_dates(given_at=data.given_at)
    if data.subject == "child":
        age = _age(student, data.given_at)
        # The child's own consent is recorded from age 7 (grade 1 when no birth year).
        if (age is not None and age < 7) or (age is None and student.grade < 1):
            raise ValidationFailed(
                N_("A child's own consent is recorded from age 7."),
                errors=[FieldError(field="subject", message=N_("student is younger than 7"))],
            )
    consent = await repo.add_consent(
        session,
        Consent(
            student_id=student_id,
            subject=data.subject,
            given_by=data.given_by,
            method=data.method,
            evidence=data.evidence,
            given_at=data.given_at,
            recorded_by=principal.user_id or None,
        ),
    )
    return consent_read(principal, consent, student.school_id)


async def list_consents(
    session: AsyncSession, principal: Principal, student_id: int
) -> list[ConsentRead]:
    student, _ = await get_student(session, principal, student_id)
    return [
        consent_read(principal, c, student.school_id)
        for c in await repo.consents_of(session, student_id)
    ]


async def withdraw_consent(
    session: AsyncSession, principal: Principal, student_id: int, consent_id: int
) -> ConsentRead:
    student, _ = await get_student(session, principal, student_id)
    ensure_student_writer(principal, student.school_id)
    consent = next(
        (c for c in await repo.consents_of(session, student_id) if c.id == consent_id), None
    )
    if consent is None:
        raise NotFound(N_("No consent {id} for this student."), id=consent_id)
    if consent.withdrawn_at is None:
        consent.withdrawn_at = datetime.now(UTC)
        await session.flush()
    return consent_read(principal, consent, student.school_id)


async def erase_student(session: AsyncSession, principal: Principal, student_id: int) -> None:
    """Erase personal fields; device history stays, tied to the pseudonymous code."""
    student, _ = await get_student(session, principal, student_id)
    ensure_student_writer(principal, student.school_id)
    student, _ = await relock_student(session, principal, student)
    if await repo.open_assignment_count(session, student_id):
        raise Conflict(N_("The student still holds devices; return them before erasing."))
    student.full_name = ERASED
    student.national_id = None
    student.birth_year = None
    student.guardian_name = None
    student.guardian_phone = None
    student.class_name = None
    student.status = "left" if student.status == "active" else student.status
    student.erased_at = datetime.now(UTC)
    for consent in await repo.consents_of(session, student_id):
        consent.given_by = None
        consent.evidence = None
        consent.withdrawn_at = consent.withdrawn_at or student.erased_at
    await session.flush()
    await repo.clear_loan_notes(session, student_id)
    # Signatures and photos of signed pages of the student's loans and consents.
    await evidence.forget_student(session, student_id)
    # Answers kept for retried requests (Idempotency-Key, 24 h) may carry the child's data.
    await idempotency.forget_answers_naming(session, student_id)
    await mail.forget_student(session, student_id)

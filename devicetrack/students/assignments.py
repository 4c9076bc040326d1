"""Loans: lending a device to a student and taking it back. The device's status, the
assignment row and the event change together in one transaction; the partial unique index
uq_assignments_open_device makes a second open loan of a device impossible even when two
requests race."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.common.dates import check_event_dates
from devicetrack.db.counters import relock
from devicetrack.devices import lifecycle
from devicetrack.devices import repository as devices_repo
from devicetrack.devices import service as devices
from devicetrack.devices.schemas import DeviceRead
from devicetrack.devices.values import DeviceStatus
from devicetrack.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from devicetrack.i18n import N_, Message, Term
from devicetrack.schools import service as schools
from devicetrack.schools.models import School
from devicetrack.schools.repository import visible_schools
from devicetrack.students import repository as repo
from devicetrack.students.models import Assignment
from devicetrack.students.schemas import (
    AssignmentCreate,
    AssignmentRead,
    AssignmentReturn,
    LoanRead,
    StudentRead,
)
from devicetrack.students.service import (
    get_student,
    list_students,
    relock_student,
    sees_personal_data,
)
from devicetrack.students.values import StudentStatus

NEEDS_RESET = ("laptop", "tablet", "smartphone")


def _assigned_at(a: Assignment) -> datetime:
    assert a.assigned_at is not None  # set by the database on insert
    return a.assigned_at


def assignment_read(
    principal: Principal, a: Assignment, tag: str, kind: str, code: str, name: str | None
) -> AssignmentRead:
    today = local_today()
    read = AssignmentRead(
        id=a.id or 0,
        asset_tag=tag,
        device_kind=kind,
        student_id=a.student_id,
        student_code=code,
        school_id=a.school_id,
        assigned_at=_assigned_at(a),
        condition_out=a.condition_out,
        due_back_on=a.due_back_on,
        returned_at=a.returned_at,
        condition_in=a.condition_in,
        wiped=a.wiped,
        overdue=a.returned_at is None and a.due_back_on is not None and a.due_back_on < today,
    )
    if sees_personal_data(principal, a.school_id):
        read.student_name = name
    return read


def _ensure_lender(principal: Principal, school_id: int) -> None:
    if principal.is_admin or (principal.is_school_staff and school_id in principal.school_ids):
        return
    raise Forbidden(N_("Devices are lent and taken back by the school's staff."))


async def assign(
    session: AsyncSession, principal: Principal, data: AssignmentCreate
) -> AssignmentRead:
    student, has_consent = await get_student(session, principal, data.student_id)
    _ensure_lender(principal, student.school_id)
    if data.due_back_on is not None and data.due_back_on < local_today():
        raise ValidationFailed(
            N_("A loan cannot be due back before it starts."),
            errors=[FieldError(field="due_back_on", message=N_("must be today or later"))],
        )
    check_event_dates(due_back_on=data.due_back_on)
    # The student's school's counters, then the student again (they may have moved since the
    # read above), then the device (db/counters.py).
    student, has_consent = await relock_student(session, principal, student)
    device = await devices.get_device(session, principal, data.asset_tag, for_update=True)
    if device.status not in lifecycle.TRANSITIONS["assign"].sources:
        raise lifecycle.refuse_transition(device, "assign", principal)
    lifecycle.ensure_unlocked(device, "assign", principal)
    if device.school_id != student.school_id:
        raise Conflict(N_("The device is at another school than the student."))
    if device.condition == "broken" or data.condition_out == "broken":
        raise Conflict(N_("The device is broken; send it to repair instead of lending it."))
    if device.needs_wipe:
        raise Conflict(N_("The device was returned without a reset; reset it (wipe) first."))
    if device.installed_in_id is not None:
        raise Conflict(N_("This SIM is installed in a device; lend that device instead."))
    if student.status != "active":
        raise Conflict(N_("The student is {status}, not active."), status=Term(student.status))
    if not has_consent:
        raise Conflict(N_("No guardian consent on record for this student (or it was withdrawn)."))
    assignment = Assignment(
        device_id=device.id or 0,
        student_id=student.id or 0,
        school_id=student.school_id,
        assigned_by=principal.user_id or None,
        condition_out=data.condition_out or device.condition,
        due_back_on=data.due_back_on,
        note=data.note,
    )
    try:
        async with session.begin_nested():
            session.add(assignment)
            await session.flush()
    except IntegrityError as exc:
        if "uq_assignments_open_device" in str(exc.orig):
            raise Conflict(N_("The device is already lent.")) from None
        raise
    before = device.status
    device.status, device.student_id = "assigned", student.id
    device.condition = assignment.condition_out
    await session.flush()
    await devices_repo.add_event(
        session,
        device_id=device.id,
        actor_id=principal.user_id or None,
        action="assigned",
        from_status=before,
        to_status="assigned",
        school_id=device.school_id,
        student_id=student.id,
        condition=device.condition,
        note=data.note,
        data={
            "assignment_id": assignment.id,
            "due_back_on": data.due_back_on.isoformat() if data.due_back_on else None,
        },
    )
    await lifecycle.move_installed_sim(session, device, principal.user_id, "assigned")
    await session.refresh(assignment)
    return assignment_read(
        principal,
        assignment,
        device.asset_tag,
        device.kind,
        student.student_code,
        student.full_name,
    )


async def _locked_assignment(session: AsyncSession, assignment_id: int) -> Assignment:
    assignment = await repo.get_assignment(session, assignment_id, for_update=True)
    assert assignment is not None  # loans are never deleted
    return assignment


async def return_device(
    session: AsyncSession, principal: Principal, assignment_id: int, data: AssignmentReturn
) -> AssignmentRead:
    # Scope first, with plain reads; then the counter row (db/counters.py); then the rows.
    assignment = await repo.get_assignment(session, assignment_id)
    school = await session.get(School, assignment.school_id) if assignment else None
    if (
        assignment is None
        or school is None
        or principal.is_donor
        or not (
            principal.is_admin
            or (principal.is_province_officer and school.province_code == principal.province_code)
            or (principal.is_school_staff and school.id in principal.school_ids)
        )
    ):
        raise NotFound(N_("No assignment {id}."), id=assignment_id)
    _ensure_lender(principal, assignment.school_id)
    assignment = await relock(
        session,
        assignment.school_id,
        lambda: _locked_assignment(session, assignment_id),
        lambda a: a.school_id,
    )
    _ensure_lender(principal, assignment.school_id)
    device = await devices_repo.get_by_id(session, assignment.device_id, for_update=True)
    if assignment.returned_at is not None:
        # Returning a device that is not lent is a refused transition: name its status.
        refused = lifecycle.refuse_transition(device, "return", principal)
        raise Conflict(
            N_("This loan was already closed. {refusal}"),
            extra={"returned_at": assignment.returned_at.isoformat(), **refused.extra},
            refusal=refused.detail,
        )
    student, _ = await get_student(session, principal, assignment.student_id)
    assignment.returned_at = datetime.now(UTC)
    assignment.returned_by = principal.user_id or None
    assignment.condition_in = data.condition_in
    assignment.wiped = data.wiped
    if data.note:
        assignment.note = data.note
    before = device.status
    device.status, device.student_id, device.condition = "at_school", None, data.condition_in
    device.needs_wipe = device.kind in NEEDS_RESET and not data.wiped
    await session.flush()
    await devices_repo.add_event(
        session,
        device_id=device.id,
        actor_id=principal.user_id or None,
        action="returned",
        from_status=before,
        to_status="at_school",
        school_id=device.school_id,
        student_id=student.id,
        condition=data.condition_in,
        note=data.note,
        data={"assignment_id": assignment.id, "wiped": data.wiped},
    )
    await lifecycle.move_installed_sim(session, device, principal.user_id, "returned")
    return assignment_read(
        principal,
        assignment,
        device.asset_tag,
        device.kind,
        student.student_code,
        student.full_name,
    )


async def list_assignments(
    session: AsyncSession,
    principal: Principal,
    *,
    school_id: int | None = None,
    student_id: int | None = None,
    open_: bool | None = None,
    overdue: bool | None = None,
    after_id: int | None = None,
    limit: int,
    asset_tag: str | None = None,
) -> list[AssignmentRead]:
    if principal.is_donor:
        raise Forbidden(N_("Donors do not see loans."))
    where: list[ColumnElement[bool]] = [
        Assignment.school_id.in_(select(School.id).where(visible_schools(principal)))
    ]
    if school_id is not None:
        where.append(Assignment.school_id == school_id)
    if student_id is not None:
        where.append(Assignment.student_id == student_id)
    if asset_tag is not None:
        where.append(repo.device_tag_clause(asset_tag))
    if open_ is not None:
        where.append(
            Assignment.returned_at.is_(None) if open_ else Assignment.returned_at.is_not(None)
        )
    if overdue is not None:
        # The same day as the `overdue` flag of each loan (assignment_read): UTC.
        late = repo.overdue_clause(local_today())
        where.append(late if overdue else not_(func.coalesce(late, False)))
    rows = await repo.list_assignments(session, where=where, after_id=after_id, limit=limit)
    return [
        assignment_read(principal, a, tag, kind, code, name) for a, tag, kind, code, name in rows
    ]


async def get_assignment(
    session: AsyncSession, principal: Principal, assignment_id: int
) -> AssignmentRead:
    rows = await list_assignments(
        session,
        principal,
        after_id=assignment_id - 1,
        limit=1,
    )
    if not rows or rows[0].id != assignment_id:
        raise NotFound(N_("No assignment {id}."), id=assignment_id)
    return rows[0]


async def student_assignments(
    session: AsyncSession, principal: Principal, student_id: int
) -> list[AssignmentRead]:
    return await list_assignments(
        session,
        principal,
        student_id=student_id,
        limit=10_000,
    )


async def open_loan_of(
    session: AsyncSession, principal: Principal, asset_tag: str, holder: int | None = None
) -> AssignmentRead:
    """The device's loan that has not come back yet (the web's "take back" starts here).
    `holder`: the student the return was recorded for (offline, perhaps hours ago); a loan
    to anyone else is refused rather than closed in their place."""
    rows = await list_assignments(
        session,
        principal,
        open_=True,
        limit=1,
        asset_tag=asset_tag,
    )
    if not rows:
        raise NotFound(N_("{tag} is not lent to anyone."), tag=asset_tag)
    if holder is not None and rows[0].student_id != holder:
        raise Conflict(
            N_("{tag} is now lent to another student; this return was not recorded."),
            tag=asset_tag,
        )
    return rows[0]


async def loan_shown_with(
    session: AsyncSession, principal: Principal, device: DeviceRead
) -> AssignmentRead | None:
    """The open loan a device's page names beside the device: None when it is not lent, or
    when the caller does not see loans (donors) or not this one."""
    if device.status != DeviceStatus.ASSIGNED:
        return None
    try:
        return await open_loan_of(session, principal, device.asset_tag)
    except DomainError:
        return None


async def lend_candidates(
    session: AsyncSession, principal: Principal, asset_tag: str, q: str | None, limit: int
) -> tuple[DeviceRead, list[StudentRead], bool]:
    """The device about to be lent, the first `limit` active students of its school matching
    `q` (a name without diacritics, or a code), and whether there are more."""
    device = await devices.read_device(session, principal, asset_tag)
    if device.school_id is None:
        raise ValidationFailed(N_("{tag} is not at a school."), tag=device.asset_tag)
    found = await list_students(
        session,
        principal,
        school_id=device.school_id,
        status=StudentStatus.ACTIVE,
        q=q,
        limit=limit,
    )
    return device, found[:limit], len(found) > limit


def lend_blocker(device: DeviceRead) -> Message | None:
    """Why the lend page's device cannot be lent now, said before anyone picks a student and
    signs (the lend itself refuses it again, under lock): not at the school ready to lend,
    or broken. A device back without its reset has its own notice and button."""
    if device.status not in lifecycle.TRANSITIONS["assign"].sources:
        return Message(
            N_("{tag} cannot be lent now ({status}): open the device to see where it is."),
            tag=device.asset_tag,
            status=Term(device.status),
        )
    if device.condition == "broken":
        return Message(N_("The device is broken; send it to repair instead of lending it."))
    return None


async def school_loans(
    session: AsyncSession,
    principal: Principal,
    school_id: int,
    *,
    overdue_only: bool,
    after_id: int | None,
    limit: int,
) -> list[LoanRead]:
    """The school's devices out with students (`overdue_only`: those past their due date,
    to chase first), in lending order. The school's staff and admins see who has each;
    a province officer sees the devices and dates, never the student; donors nothing."""
    await schools.get_school(session, principal, school_id)  # 404 outside the caller's scope
    if principal.is_donor:
        raise Forbidden(N_("Donors do not see loans."))
    today = local_today()  # the day the `overdue` flag of every loan is judged on
    rows = await repo.open_loans(
        session,
        school_id=school_id,
        late_on=today if overdue_only else None,
        after_id=after_id,
        limit=limit,
    )
    named = sees_personal_data(principal, school_id)
    loans = []
    for a, tag, kind, code, name, grade, class_name in rows:
        late = a.due_back_on is not None and a.due_back_on < today
        loan = LoanRead(
            id=a.id or 0,
            school_id=a.school_id,
            asset_tag=tag,
            device_kind=kind,
            assigned_at=_assigned_at(a),
            due_back_on=a.due_back_on,
            overdue=late,
            days_overdue=(today - a.due_back_on).days if late and a.due_back_on else 0,
        )
        if named:
            loan.student_id, loan.student_code, loan.student_name = a.student_id, code, name
            loan.grade, loan.class_name = grade, class_name
        loans.append(loan)
    return loans

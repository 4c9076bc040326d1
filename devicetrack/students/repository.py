from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Text,
    and_,
    any_,
    cast,
    distinct,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.devices.models import Device
from devicetrack.students.models import Assignment, Consent, Student


def has_consent_clause() -> ColumnElement[bool]:
    return exists().where(
        Consent.student_id == Student.id,
        Consent.subject == "guardian",
        Consent.withdrawn_at.is_(None),
    )


async def get_student(
    session: AsyncSession, student_id: int, *, for_update: bool = False
) -> tuple[Student, bool] | None:
    query = select(Student, has_consent_clause()).where(Student.id == student_id)
    if for_update:
        query = query.with_for_update(of=Student).execution_options(populate_existing=True)
    row = (await session.execute(query)).first()
    return (row[0], bool(row[1])) if row else None


async def list_students(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[tuple[Student, bool]]:
    query = (
        select(Student, has_consent_clause()).where(*where).order_by(Student.id).limit(limit + 1)
    )
    if after_id is not None:
        query = query.where(Student.id > after_id)
    return [(s, bool(c)) for s, c in await session.execute(query)]


async def add_student(session: AsyncSession, student: Student) -> Student:
    session.add(student)
    await session.flush()
    await session.refresh(student)
    return student


async def existing_codes(session: AsyncSession, school_id: int, codes: list[str]) -> set[str]:
    # One array parameter, not one per code: a file of more than 32,767 students would
    # pass the driver's limit of query arguments.
    rows = await session.execute(
        select(Student.student_code).where(
            Student.school_id == school_id,
            Student.student_code == any_(cast(codes, ARRAY(Text))),
        )
    )
    return set(rows.scalars())


async def insert_students(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    result = await session.execute(
        pg_insert(Student).returning(Student.id, sort_by_parameter_order=True), rows
    )
    return [i for (i,) in result if i is not None]  # a key RETURNING gives is never NULL


async def clear_loan_notes(session: AsyncSession, student_id: int) -> None:
    """Remove the free-text notes on the student's loans (staff may have written the name
    there). The device events' notes stay as written, since history is never changed (SPEC
    §2); the devices service stops showing them once the student is erased."""
    await session.execute(
        text("UPDATE assignments SET note = NULL WHERE student_id = :id AND note IS NOT NULL"),
        {"id": student_id},
    )


async def consents_of(session: AsyncSession, student_id: int) -> list[Consent]:
    rows = await session.execute(
        select(Consent).where(Consent.student_id == student_id).order_by(Consent.id)
    )
    return list(rows.scalars())


async def add_consent(session: AsyncSession, consent: Consent) -> Consent:
    session.add(consent)
    await session.flush()
    await session.refresh(consent)
    return consent


async def open_assignment_count(session: AsyncSession, student_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count(Assignment.id)).where(
                Assignment.student_id == student_id,
                Assignment.returned_at.is_(None),
            )
        )
        or 0
    )


async def students_borrowing(session: AsyncSession, school_id: int) -> int:
    """Students with an open loan at the school: a student borrowing a tablet with a SIM in
    it is one student, not two devices."""
    return int(
        await session.scalar(
            select(func.count(distinct(Assignment.student_id))).where(
                Assignment.school_id == school_id,
                Assignment.returned_at.is_(None),
            )
        )
        or 0
    )


def assignment_query(
    where: list[ColumnElement[bool]],
) -> Select[Assignment, str, str, str, str | None]:
    return (
        select(Assignment, Device.asset_tag, Device.kind, Student.student_code, Student.full_name)
        .join(Device, Device.id == Assignment.device_id)
        .join(Student, Student.id == Assignment.student_id)
        .where(*where)
    )


async def list_assignments(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[Row[*tuple[Any, ...]]]:
    query = assignment_query(where).order_by(Assignment.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(Assignment.id > after_id)
    return list(await session.execute(query))


async def open_loans(
    session: AsyncSession,
    *,
    school_id: int,
    late_on: date | None,
    after_id: int | None,
    limit: int,
) -> list[Row[*tuple[Any, ...]]]:
    """The school's loans not yet returned, by id; `late_on`: only those due before it.
    Each row: the assignment, the device's tag and kind, the student's code, name, grade
    and class."""
    query = (
        select(
            Assignment,
            Device.asset_tag,
            Device.kind,
            Student.student_code,
            Student.full_name,
            Student.grade,
            Student.class_name,
        )
        .join(Device, Device.id == Assignment.device_id)
        .join(Student, Student.id == Assignment.student_id)
        .where(Assignment.school_id == school_id, Assignment.returned_at.is_(None))
        .order_by(Assignment.id)
        .limit(limit + 1)
    )
    if late_on is not None:
        query = query.where(overdue_clause(late_on))
    if after_id is not None:
        query = query.where(Assignment.id > after_id)
    return list(await session.execute(query))


async def get_assignment(
    session: AsyncSession, assignment_id: int, *, for_update: bool = False
) -> Assignment | None:
    query = select(Assignment).where(Assignment.id == assignment_id)
    if for_update:
        # Locked rows are read afresh: an earlier read in this request must not stand in.
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


def overdue_clause(today: date) -> ColumnElement[bool]:
    return and_(Assignment.returned_at.is_(None), Assignment.due_back_on < today)


def device_tag_clause(asset_tag: str) -> ColumnElement[bool]:
    return Device.asset_tag == asset_tag


async def close_open_loan(session: AsyncSession, device: Device, actor_id: int, note: str) -> None:
    """A lost or stolen device is no longer with its student: end the loan
    (devices.lifecycle.apply calls this through custody.service.apply)."""
    await session.execute(
        update(Assignment)
        .where(Assignment.device_id == device.id, Assignment.returned_at.is_(None))
        .values(returned_at=datetime.now(UTC), returned_by=actor_id or None, note=note)
    )


async def erased_among(session: AsyncSession, student_ids: Collection[int]) -> set[int]:
    """Which of these students have had their personal data erased."""
    if not student_ids:
        return set()
    rows = await session.scalars(
        select(Student.id).where(
            Student.id.in_(sorted(student_ids)),
            Student.erased_at.is_not(None),
        )
    )
    return {i for i in rows if i is not None}


async def due_for_retention(session: AsyncSession, months: int) -> list[int]:
    """Students who left or graduated more than `months` calendar months ago and still hold
    personal data (PostgreSQL's interval arithmetic: 24 months before 31 March is 31 March)."""
    rows = await session.execute(
        select(Student.id)
        .where(
            Student.status != "active",
            Student.left_at < text("now() - make_interval(months => :months)"),
            Student.erased_at.is_(None),
        )
        .order_by(Student.id),
        {"months": months},
    )
    return [student_id for student_id in rows.scalars() if student_id is not None]

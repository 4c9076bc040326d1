from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Text, and_, any_, cast, exists, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.devices.models import Device
from devicetrack.students.models import Assignment, Consent, Student


def has_consent_clause() -> ColumnElement[bool]:
    return exists().where(
        Consent.student_id == Student.id,
        Consent.subject == "guardian",
        Consent.withdrawn_at.is_(None),  # type: ignore[union-attr]
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
        query = query.where(Student.id > after_id)  # type: ignore[operator]
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


async def insert_students(session: AsyncSession, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    result = await session.execute(
        pg_insert(Student).returning(Student.id, sort_by_parameter_order=True), rows
    )
    return [r[0] for r in result]


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
                Assignment.returned_at.is_(None),  # type: ignore[union-attr]
            )
        )
        or 0
    )


def assignment_query(where: list[ColumnElement[bool]]):  # type: ignore[no-untyped-def]
    return (
        select(Assignment, Device.asset_tag, Device.kind, Student.student_code, Student.full_name)
        .join(Device, Device.id == Assignment.device_id)
        .join(Student, Student.id == Assignment.student_id)
        .where(*where)
    )


async def list_assignments(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[tuple]:
    query = assignment_query(where).order_by(Assignment.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(Assignment.id > after_id)  # type: ignore[operator]
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
    return and_(Assignment.returned_at.is_(None), Assignment.due_back_on < today)  # type: ignore[union-attr,operator]


def device_tag_clause(asset_tag: str) -> ColumnElement[bool]:
    return Device.asset_tag == asset_tag  # type: ignore[return-value]

"""School registry and enrolment rules."""

from __future__ import annotations

import asyncpg
from sqlalchemy import ColumnElement, any_, literal, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import (
    ensure_can_edit_enrolment,
    ensure_can_manage_registry,
    ensure_school_visible,
)
from devicetrack.common.convert import given
from devicetrack.db.search import contains_pattern, folded_contains
from devicetrack.errors import Conflict, FieldError, Forbidden, ValidationFailed
from devicetrack.i18n import N_, Message
from devicetrack.regions import repository as regions
from devicetrack.schools import repository as repo
from devicetrack.schools.models import Enrolment, School
from devicetrack.schools.repository import visible_schools
from devicetrack.schools.schemas import (
    EnrolmentRead,
    EnrolmentWrite,
    SchoolCreate,
    SchoolRead,
    SchoolUpdate,
)


def school_read(school: School) -> SchoolRead:
    assert school.id is not None and school.created_at and school.updated_at
    return SchoolRead(
        id=school.id,
        code=school.code,
        name=school.name,
        province_code=school.province_code,
        commune_code=school.commune_code,
        levels=list(school.levels),
        former_district=school.former_district,
        address=school.address,
        active=school.active,
        created_at=school.created_at,
        updated_at=school.updated_at,
    )


def enrolment_read(row: Enrolment) -> EnrolmentRead:
    assert row.updated_at is not None
    return EnrolmentRead(
        school_id=row.school_id,
        school_year=row.school_year,
        students_total=row.students_total,
        priority_students=row.priority_students,
        updated_at=row.updated_at,
    )


async def _province_of_commune(session: AsyncSession, commune_code: str) -> str:
    found = await regions.commune_provinces(session, [commune_code])
    if commune_code not in found:
        raise ValidationFailed(
            N_("Unknown commune."),
            errors=[
                FieldError(
                    field="commune_code",
                    message=Message(N_("no commune {code}"), code=commune_code),
                )
            ],
        )
    return found[commune_code]


async def create_school(
    session: AsyncSession, principal: Principal, data: SchoolCreate
) -> SchoolRead:
    province = await _province_of_commune(session, data.commune_code)
    if data.province_code and data.province_code != province:
        raise ValidationFailed(
            N_("The commune is in another province."),
            errors=[
                FieldError(
                    field="commune_code",
                    message=Message(
                        N_("commune {commune} is in province {province}"),
                        commune=data.commune_code,
                        province=province,
                    ),
                )
            ],
        )
    ensure_can_manage_registry(principal, province)
    school = School(
        code=data.code.strip(),
        name=data.name.strip(),
        province_code=province,
        commune_code=data.commune_code,
        levels=sorted(set(data.levels)),
        former_district=data.former_district,
        address=data.address,
        active=data.active,
    )
    try:
        async with session.begin_nested():
            await repo.add_school(session, school)
    except IntegrityError as exc:
        if "uq_schools_code" in str(exc.orig):
            raise Conflict(
                N_("A school with this code exists."),
                errors=[FieldError(field="code", message=N_("already in use"))],
            ) from None
        raise
    return school_read(school)


async def get_school(session: AsyncSession, principal: Principal, school_id: int) -> School:
    school = await repo.get_school(session, school_id)
    return ensure_school_visible(principal, school, N_("No school."))


async def list_schools(
    session: AsyncSession,
    principal: Principal,
    *,
    province: str | None,
    commune: str | None,
    active: bool | None,
    level: str | None,
    q: str | None,
    after_id: int | None,
    limit: int,
) -> list[SchoolRead]:
    where: list[ColumnElement[bool]] = [visible_schools(principal)]
    if province:
        where.append(School.province_code == province)
    if commune:
        where.append(School.commune_code == commune)
    if active is not None:
        where.append(School.active == active)
    if level:
        where.append(literal(level) == any_(School.levels))
    if q:
        where.append(or_(folded_contains(School.name, q), School.code.ilike(contains_pattern(q))))
    rows = await repo.list_schools(session, where=where, after_id=after_id, limit=limit)
    return [school_read(s) for s in rows]


async def transfer_targets(
    session: AsyncSession, principal: Principal, province: str, current: int | None
) -> list[tuple[int, str, str]]:
    """The schools a device of `province` can be transferred to (active, in the province,
    visible to the caller, not the one it is at), for the transfer form's picker."""
    where = [visible_schools(principal), School.province_code == province]
    if current is not None:
        where.append(School.id != current)
    return await repo.school_choices(session, where)


async def school_names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """Names only, for labelling rows whose scope was already checked (a device's school and
    the schools of its history)."""
    return await repo.school_names(session, ids)


async def my_school_names(pool: asyncpg.Pool, principal: Principal) -> dict[int, str]:
    """The names of a staff member's schools when there are several (the pages' menu names
    each one); empty for everyone else, so their pages spend no query on it."""
    if not (principal.is_school_staff and len(principal.school_ids) > 1):
        return {}
    return await repo.school_names_on(pool, sorted(principal.school_ids))


async def update_school(
    session: AsyncSession, principal: Principal, school_id: int, data: SchoolUpdate
) -> SchoolRead:
    school = await get_school(session, principal, school_id)
    ensure_can_manage_registry(principal, school.province_code)
    changes = given(data)
    commune = changes.pop("commune_code", school.commune_code)
    if commune != school.commune_code:
        province = await _province_of_commune(session, commune)
        if province != school.province_code:
            raise ValidationFailed(
                N_("A school cannot move to another province by editing its commune."),
                errors=[FieldError(field="commune_code", message=N_("in another province"))],
            )
        school.commune_code = commune
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    if "levels" in changes:
        changes["levels"] = sorted(set(changes["levels"]))
    for name, value in changes.items():
        setattr(school, name, value)
    await session.flush()
    await session.refresh(school)
    return school_read(school)


async def delete_school(session: AsyncSession, principal: Principal, school_id: int) -> None:
    school = await get_school(session, principal, school_id)
    ensure_can_manage_registry(principal, school.province_code)
    try:
        async with session.begin_nested():
            await repo.delete_school(session, school)
    except IntegrityError:
        raise Conflict(
            N_("The school still has devices, students or history; deactivate it instead.")
        ) from None


async def put_enrolment(
    session: AsyncSession, principal: Principal, school_id: int, data: EnrolmentWrite
) -> EnrolmentRead:
    school = await get_school(session, principal, school_id)
    ensure_can_edit_enrolment(principal, school)
    if data.priority_students > data.students_total:
        raise ValidationFailed(
            N_("Priority students cannot exceed the total."),
            errors=[FieldError(field="priority_students", message=N_("more than students_total"))],
        )
    start, end = (int(x) for x in data.school_year.split("-"))
    if end != start + 1:
        raise ValidationFailed(
            N_("A school year spans two consecutive years."),
            errors=[FieldError(field="school_year", message=N_("use the form 2025-2026"))],
        )
    row = await repo.upsert_enrolment(
        session, school_id, data.school_year, data.students_total, data.priority_students
    )
    return enrolment_read(row)


async def list_enrolments(
    session: AsyncSession, principal: Principal, school_id: int
) -> list[EnrolmentRead]:
    await get_school(session, principal, school_id)
    if principal.is_donor:
        raise Forbidden(N_("Donors do not read enrolments."))
    return [enrolment_read(e) for e in await repo.list_enrolments(session, school_id)]

from __future__ import annotations

import asyncpg
from sqlalchemy import ColumnElement, Text, any_, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import restrict
from devicetrack.regions.models import Commune
from devicetrack.schools.models import Enrolment, School


def visible_schools(principal: Principal) -> ColumnElement[bool]:
    """The schools the caller may see; every query of school-owned rows filters by it.
    Donors follow devices, not schools: they reach schools through reports only."""
    return restrict(principal, province=School.province_code, school=School.id)


async def get_school(session: AsyncSession, school_id: int) -> School | None:
    return await session.get(School, school_id)


async def list_schools(
    session: AsyncSession, *, where: list[ColumnElement[bool]], after_id: int | None, limit: int
) -> list[School]:
    query = select(School).where(*where).order_by(School.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(School.id > after_id)
    return list((await session.execute(query)).scalars())


async def add_school(session: AsyncSession, school: School) -> School:
    session.add(school)
    await session.flush()
    await session.refresh(school)
    return school


async def existing_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    if not codes:
        return set()
    # One array parameter, not one parameter per code: a national list (40,000 schools)
    # would pass the driver's limit of 32,767 query arguments.
    rows = await session.execute(
        select(School.code).where(School.code == any_(cast(codes, ARRAY(Text))))
    )
    return set(rows.scalars())


async def insert_schools(session: AsyncSession, rows: list[dict[str, object]]) -> list[int]:
    """One multi-row INSERT … RETURNING id, ids in input order."""
    if not rows:
        return []
    result = await session.execute(
        pg_insert(School).returning(School.id, sort_by_parameter_order=True), rows
    )
    return [i for (i,) in result if i is not None]  # a key RETURNING gives is never NULL


async def schools_by_code(
    session: AsyncSession, principal: Principal, codes: list[str]
) -> dict[str, tuple[int, str]]:
    """The schools of these codes the caller may see: code -> (id, province)."""
    if not codes:
        return {}
    rows = await session.execute(
        select(School.code, School.id, School.province_code).where(
            School.code == any_(cast(codes, ARRAY(Text))), visible_schools(principal)
        )
    )
    # (A key the database returns is never NULL.)
    return {code: (id_, province) for code, id_, province in rows if id_ is not None}


async def upsert_enrolments(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    stmt = pg_insert(Enrolment)
    stmt = stmt.on_conflict_do_update(
        constraint="uq_enrolments_school_id_school_year",
        set_={
            "students_total": stmt.excluded.students_total,
            "priority_students": stmt.excluded.priority_students,
            "updated_at": func.now(),
        },
    )
    await session.execute(stmt, rows)


async def upsert_enrolment(
    session: AsyncSession, school_id: int, year: str, total: int, priority: int
) -> Enrolment:
    stmt = pg_insert(Enrolment).values(
        school_id=school_id, school_year=year, students_total=total, priority_students=priority
    )
    upsert = stmt.on_conflict_do_update(
        constraint="uq_enrolments_school_id_school_year",
        set_={"students_total": total, "priority_students": priority, "updated_at": func.now()},
    ).returning(Enrolment)
    return (await session.execute(upsert)).scalar_one()


async def list_enrolments(session: AsyncSession, school_id: int) -> list[Enrolment]:
    rows = await session.execute(
        select(Enrolment).where(Enrolment.school_id == school_id).order_by(Enrolment.school_year)
    )
    return list(rows.scalars())


async def delete_school(session: AsyncSession, school: School) -> None:
    await session.delete(school)
    await session.flush()


async def school_names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """Names only, for labelling rows whose scope was already checked (a device's school)."""
    if not ids:
        return {}
    rows = await session.execute(select(School.id, School.name).where(School.id.in_(ids)))
    return {i: n for i, n in rows if i is not None}


async def school_names_on(pool: asyncpg.Pool, ids: list[int]) -> dict[int, str]:
    """`school_names` on the pool, for a request that has no session yet (the pages' caller)."""
    rows = await pool.fetch("SELECT id, name FROM schools WHERE id = ANY($1::int[])", ids)
    return {r["id"]: r["name"] for r in rows}


async def school_choices(
    session: AsyncSession, where: list[ColumnElement[bool]]
) -> list[tuple[int, str, str]]:
    """(id, name, commune name) of active schools, by name: the options of a school picker."""
    rows = await session.execute(
        select(School.id, School.name, Commune.name)
        .join(Commune, Commune.code == School.commune_code)
        .where(School.active, *where)
        .order_by(School.name, School.id)
    )
    return [(i, n, c) for i, n, c in rows if i is not None]

"""Queries of digests: opt-outs, who receives a digest, and where there is something to
tell (so that a day's run reads the reports of those recipients only)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Integer, any_, cast, delete, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.models import User, UserSchool
from devicetrack.devices.models import Device
from devicetrack.devices.values import DeviceKind, DeviceStatus
from devicetrack.digests.models import DigestOptOut
from devicetrack.schools.models import School
from devicetrack.students.models import Assignment


async def opted_out(session: AsyncSession, user_id: int) -> set[str]:
    rows = await session.execute(select(DigestOptOut.digest).where(DigestOptOut.user_id == user_id))
    return set(rows.scalars())


async def opt_out(session: AsyncSession, user_id: int, digests: Iterable[str]) -> None:
    values = [{"user_id": user_id, "digest": d} for d in digests]
    if values:
        await session.execute(insert(DigestOptOut).values(values).on_conflict_do_nothing())


async def opt_in(session: AsyncSession, user_id: int, digests: Iterable[str]) -> None:
    names = list(digests)
    if names:
        await session.execute(
            delete(DigestOptOut).where(
                DigestOptOut.user_id == user_id, DigestOptOut.digest.in_(names)
            )
        )


class Recipient(NamedTuple):
    id: int
    email: str
    full_name: str
    role: str
    province_code: str | None
    donor_id: int | None
    locale: str
    school_ids: list[int]


async def recipients(session: AsyncSession, digest: str, roles: Iterable[str]) -> list[Recipient]:
    """Active users of these roles who have not turned `digest` off, with their schools."""
    schools = func.array_remove(func.array_agg(UserSchool.school_id), None)
    rows = await session.execute(
        select(
            User.id,
            User.email,
            User.full_name,
            User.role,
            User.province_code,
            User.donor_id,
            User.locale,
            schools,
        )
        .outerjoin(UserSchool, UserSchool.user_id == User.id)
        .where(
            User.active,
            User.role.in_(sorted(roles)),
            ~exists().where(DigestOptOut.user_id == User.id, DigestOptOut.digest == digest),
        )
        .group_by(User.id)
        .order_by(User.id)
    )
    return [
        Recipient(
            id=r[0],
            email=r[1],
            full_name=r[2],
            role=r[3],
            province_code=r[4],
            donor_id=r[5],
            locale=r[6],
            school_ids=list(r[7] or []),
        )
        for r in rows
    ]


class Places(NamedTuple):
    """Where a digest has something to say: schools, and provinces (for their officers)."""

    schools: set[int]
    provinces: set[str]


def _places(rows: Sequence[Any]) -> Places:
    return Places({r[0] for r in rows if r[0] is not None}, {r[1] for r in rows if r[1]})


async def sims_ending_between(session: AsyncSession, first: date, last: date) -> Places:
    """Schools and provinces holding a SIM in service whose plan ends in [first, last]."""
    rows = await session.execute(
        select(Device.school_id, Device.province_code)
        .distinct()
        .where(
            Device.kind == DeviceKind.SIM.value,
            Device.status != DeviceStatus.RETIRED.value,
            Device.plan_expires_on.between(first, last),
        )
    )
    return _places(rows.all())


async def loans_late_on(session: AsyncSession, today: date) -> dict[int, int]:
    """Each school with loans past their due date on `today`, and how many (one query)."""
    rows = await session.execute(
        select(Assignment.school_id, func.count())
        .where(Assignment.returned_at.is_(None), Assignment.due_back_on < today)
        .group_by(Assignment.school_id)
    )
    return {school_id: n for school_id, n in rows.all()}


async def provinces_of(session: AsyncSession, school_ids: Iterable[int]) -> Places:
    ids = sorted(set(school_ids))
    if not ids:
        return Places(set(), set())
    rows = await session.execute(
        # One array parameter, however many schools (as reports.repository does).
        select(School.id, School.province_code).where(School.id == any_(cast(ids, ARRAY(Integer))))
    )
    return _places(rows.all())

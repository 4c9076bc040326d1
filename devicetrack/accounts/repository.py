"""Queries for password resets, invitations and the users an administrator manages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.accounts.models import Invitation, PasswordReset
from devicetrack.accounts.values import InvitationStatus
from devicetrack.auth.models import User, UserSchool
from devicetrack.auth.values import Role
from devicetrack.db.search import contains_pattern, folded_contains
from devicetrack.donors.models import Donor
from devicetrack.schools.models import School


async def add_reset(session: AsyncSession, reset: PasswordReset) -> None:
    session.add(reset)
    await session.flush()


async def reset_for_update(session: AsyncSession, digest: str) -> PasswordReset | None:
    """The reset row, locked: two uses of one link at once take turns, and the second
    finds it used."""
    query = select(PasswordReset).where(PasswordReset.token_hash == digest).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def use_resets_of(session: AsyncSession, user_id: int) -> None:
    """Every open link of the user is spent: one new password ends them all."""
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=func.now())
    )


async def revoke_open_invitations_by(session: AsyncSession, user_id: int) -> None:
    """The invitations `user_id` made that are still open end: an account made from one
    would carry the power of someone who no longer has it."""
    await session.execute(
        update(Invitation)
        .where(
            Invitation.created_by == user_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )


async def add_invitation(session: AsyncSession, invitation: Invitation) -> Invitation:
    session.add(invitation)
    await session.flush()
    await session.refresh(invitation)
    return invitation


async def add_invitations(session: AsyncSession, rows: list[Invitation]) -> list[int]:
    session.add_all(rows)
    await session.flush()
    return [r.id for r in rows if r.id is not None]


async def get_invitation(
    session: AsyncSession, invitation_id: int, *, for_update: bool = False
) -> Invitation | None:
    query = select(Invitation).where(Invitation.id == invitation_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def invitation_by_code(session: AsyncSession, digest: str) -> Invitation | None:
    query = select(Invitation).where(Invitation.code_hash == digest).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def open_invitation_emails(session: AsyncSession, emails: Sequence[str]) -> set[str]:
    rows = await session.execute(
        select(Invitation.email).where(
            Invitation.email.in_(list(emails)),
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    return set(rows.scalars())


def status_is(status: InvitationStatus, now: datetime) -> ColumnElement[bool]:
    open_ = and_(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    if status is InvitationStatus.ACCEPTED:
        return Invitation.accepted_at.is_not(None)
    if status is InvitationStatus.REVOKED:
        return Invitation.revoked_at.is_not(None)
    if status is InvitationStatus.EXPIRED:
        return and_(open_, Invitation.expires_at <= now)
    return and_(open_, Invitation.expires_at > now)


async def list_invitations(
    session: AsyncSession,
    *,
    where: list[ColumnElement[bool]],
    after_id: int | None,
    limit: int,
) -> Sequence[Invitation]:
    query = select(Invitation).where(*where).order_by(Invitation.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(Invitation.id > after_id)
    return list((await session.execute(query)).scalars())


def visible_to_province(province_code: str | None) -> ColumnElement[bool]:
    """What a province officer manages: staff and officers invited into their province."""
    return and_(
        Invitation.province_code == province_code,
        or_(Invitation.role == Role.SCHOOL_STAFF, Invitation.role == Role.PROVINCE_OFFICER),
    )


async def schools_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, School]:
    rows = await session.execute(select(School).where(School.id.in_(list(ids))))
    return {s.id: s for s in rows.scalars() if s.id is not None}


async def schools_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, School]:
    rows = await session.execute(select(School).where(School.code.in_(list(codes))))
    return {s.code: s for s in rows.scalars()}


async def existing_user_emails(session: AsyncSession, emails: Sequence[str]) -> set[str]:
    rows = await session.execute(select(User.email).where(User.email.in_(list(emails))))
    return set(rows.scalars())


async def existing_donor_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    rows = await session.execute(select(Donor.id).where(Donor.id.in_(list(ids))))
    return {i for i in rows.scalars() if i is not None}


# ---- the users an administrator manages ------------------------------------------------


def _has_school(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """The user serves a school meeting `condition` (correlated with the outer users row)."""
    return (
        select(UserSchool.user_id)
        .join(School, School.id == UserSchool.school_id)
        .where(UserSchool.user_id == User.id, condition)
        .exists()
    )


def users_of_province(province_code: str | None) -> ColumnElement[bool]:
    """What a province officer manages: the officers of their province, and school staff
    all of whose schools are in it (staff serving schools of two provinces are an
    administrator's to manage, as donors and administrators are)."""
    return or_(
        and_(User.role == Role.PROVINCE_OFFICER, User.province_code == province_code),
        and_(
            User.role == Role.SCHOOL_STAFF,
            _has_school(School.province_code == province_code),
            ~_has_school(School.province_code != province_code),
        ),
    )


def user_has_role(role: Role) -> ColumnElement[bool]:
    return User.role == role


def user_serves_school(school_id: int) -> ColumnElement[bool]:
    return _has_school(School.id == school_id)


def user_serves_school_code(code: str) -> ColumnElement[bool]:
    return _has_school(School.code == code)


def user_works_in_province(province_code: str) -> ColumnElement[bool]:
    """An officer of the province, or staff of one of its schools."""
    return or_(
        User.province_code == province_code, _has_school(School.province_code == province_code)
    )


def user_is_active(active: bool) -> ColumnElement[bool]:
    return User.active == active


def user_matches(q: str) -> ColumnElement[bool]:
    """Name (any case, with or without diacritics) or email containing `q`."""
    return or_(folded_contains(User.full_name, q), User.email.ilike(contains_pattern(q)))


async def managed_user(
    session: AsyncSession, user_id: int, where: list[ColumnElement[bool]]
) -> User | None:
    """The user, if it meets `where` (the caller's scope), locked for the change to come."""
    query = select(User).where(User.id == user_id, *where).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()

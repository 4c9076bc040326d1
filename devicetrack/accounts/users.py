"""Managing users: an administrator every user, a province officer the officers of their
province and the staff of its schools (accounts.repository.users_of_province). A user
outside the caller's reach answers 404, exactly like one that does not exist. A new role or
scope is checked by the rule invitations use (accounts.scope.check): what the caller may
give. Services never commit: the request's transaction does, once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from msgspec import UNSET, UnsetType
from sqlalchemy import ColumnElement, false, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.accounts import repository as repo
from devicetrack.accounts import scope as invite_scope
from devicetrack.accounts import service as accounts
from devicetrack.auth import cache
from devicetrack.auth import repository as auth_repo
from devicetrack.auth import service as auth
from devicetrack.auth.models import User
from devicetrack.auth.principal import Principal
from devicetrack.auth.schemas import UserRead, UserUpdate
from devicetrack.auth.scope import ensure_administers
from devicetrack.auth.service import user_integrity_error, user_read
from devicetrack.auth.values import Role
from devicetrack.config import Settings
from devicetrack.donors import repository as donors_repo
from devicetrack.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from devicetrack.i18n import N_
from devicetrack.mail import service as mail
from devicetrack.regions import repository as regions_repo
from devicetrack.webhooks import service as webhooks

T = TypeVar("T")

MANAGE_USERS = N_("Only administrators and province officers manage users.")


@dataclass(frozen=True)
class UserFilters:
    role: Role | None = None
    school_id: int | None = None
    school_code: str | None = None
    province_code: str | None = None
    active: bool | None = None
    q: str | None = None


def _reach(principal: Principal) -> ColumnElement[bool]:
    """The users the caller manages, as a predicate (the callers who manage none are refused
    before: ensure_administers)."""
    if principal.is_admin:
        return true()
    if principal.is_province_officer:
        return repo.users_of_province(principal.province_code)
    return false()


def _filters(filters: UserFilters) -> list[ColumnElement[bool]]:
    where = []
    if filters.role is not None:
        where.append(repo.user_has_role(filters.role))
    if filters.school_id is not None:
        where.append(repo.user_serves_school(filters.school_id))
    if filters.school_code:
        where.append(repo.user_serves_school_code(filters.school_code.strip()))
    if filters.province_code:
        where.append(repo.user_works_in_province(filters.province_code))
    if filters.active is not None:
        where.append(repo.user_is_active(filters.active))
    if filters.q and filters.q.strip():
        where.append(repo.user_matches(filters.q))
    return where


async def list_users(
    session: AsyncSession,
    principal: Principal,
    filters: UserFilters,
    *,
    after_id: int | None,
    limit: int,
) -> list[UserRead]:
    """The users the caller manages that pass `filters`, by id (limit + 1 rows: the caller
    pages with common.pagination.page_of)."""
    ensure_administers(principal, MANAGE_USERS)
    where = [_reach(principal), *_filters(filters)]
    users = await auth_repo.list_users(session, after_id=after_id, limit=limit, where=where)
    schools = await auth_repo.school_ids_of(session, [u.id for u in users if u.id is not None])
    return [user_read(u, schools.get(u.id or 0, [])) for u in users]


async def _managed(session: AsyncSession, principal: Principal, user_id: int) -> User:
    ensure_administers(principal, MANAGE_USERS)
    user = await repo.managed_user(session, user_id, [_reach(principal)])
    if user is None or user.id is None:
        raise NotFound(N_("No user {id}."), id=user_id)
    return user


async def get_user(session: AsyncSession, principal: Principal, user_id: int) -> UserRead:
    user = await _managed(session, principal, user_id)
    assert user.id is not None
    schools = await auth_repo.school_ids_of(session, [user.id])
    return user_read(user, schools[user.id])


def sets_passwords(principal: Principal) -> bool:
    """Who sets another user's password (a temporary one, for staff without email, who
    cannot get a reset link): administrators; a province officer sends a reset link."""
    return principal.is_admin


def _changes_access(data: UserUpdate) -> bool:
    return data.active is not UNSET or _changes_scope(data)


def _changes_scope(data: UserUpdate) -> bool:
    return any(
        value is not UNSET
        for value in (data.role, data.province_code, data.school_ids, data.donor_id)
    )


async def update_user(
    session: AsyncSession, principal: Principal, user_id: int, data: UserUpdate
) -> UserRead:
    user = await _managed(session, principal, user_id)
    assert user.id is not None
    if user.id == principal.user_id and _changes_access(data):
        # Nobody locks themselves out or widens their own reach: another administrator
        # (or officer) does it.
        raise Forbidden(N_("You cannot change your own role, scope or access."))
    if data.password is not UNSET and not sets_passwords(principal):
        raise Forbidden(N_("Only an administrator sets a password; send a reset link instead."))
    cache.forget_user(user.id)
    if data.full_name is not UNSET:
        user.full_name = data.full_name
    if data.locale is not UNSET:
        user.locale = data.locale
    if data.password is not UNSET or data.active is False:
        # A new password or a deactivation ends everything that acted as this user: its
        # sessions and its integrations' API keys (a leaked credential dies with the old
        # password). The lookups also check `active`; revoking makes it final, so that a
        # reactivation does not bring old credentials back.
        await auth_repo.revoke_tokens_of(session, user.id)
        await auth_repo.revoke_api_keys_of(session, user.id)
    if data.active is False:
        await repo.revoke_open_invitations_by(session, user.id)
        # Their webhooks stop with them (the province's or donor's events went to a URL
        # of their choosing); the dispatch also refuses a deactivated owner's at send time.
        await webhooks.owner_deactivated(session, user.id)
    if data.password is not UNSET:
        user.password_hash = await auth.password_hash_of(data.password)
    if data.active is not UNSET:
        user.active = data.active
    if _changes_scope(data):
        await _rescope(session, principal, user, data)
    await session.flush()
    return await get_user(session, principal, user_id)


def _given(value: T | UnsetType, kept: T) -> T:
    return kept if value is UNSET else value


async def _rescope(
    session: AsyncSession, principal: Principal, user: User, data: UserUpdate
) -> None:
    """A new role and/or scope. What is not given is kept while the role stays; a new role
    starts from nothing but what is given with it."""
    assert user.id is not None
    role = Role(user.role) if data.role is UNSET else data.role
    same_role = role == user.role
    if data.school_ids is not UNSET and role is not Role.SCHOOL_STAFF:
        raise ValidationFailed(
            N_("Only school staff have schools."),
            errors=[FieldError(field="school_ids", message=N_("not for this role"))],
        )
    if data.school_ids is not UNSET:
        school_ids = data.school_ids
    elif same_role:
        school_ids = (await auth_repo.school_ids_of(session, [user.id]))[user.id]
    else:
        school_ids = []
    # null clears: no province or donor (which only a role without one accepts).
    province = _given(data.province_code, user.province_code if same_role else None)
    donor_id = _given(data.donor_id, user.donor_id if same_role else None)
    schools = await repo.schools_by_id(session, school_ids)
    donor = await donors_repo.get_donor(session, donor_id) if donor_id else None
    checked = invite_scope.check(
        principal,
        role,
        schools=[schools.get(i) for i in school_ids],
        school_field="school_ids",
        province_code=province,
        donor_id=donor_id,
        donor_exists=donor is not None,
        province_exists=province is None
        or await regions_repo.get_province(session, province) is not None,
    )
    if checked.not_allowed:
        raise Forbidden(N_("You may not give this role or scope."), errors=checked.errors)
    if checked.scope is None:
        raise ValidationFailed(N_("The role needs a scope you may give."), errors=checked.errors)
    user.role = role
    user.province_code = checked.scope.province_code if role is Role.PROVINCE_OFFICER else None
    user.donor_id = checked.scope.donor_id if role is Role.DONOR else None
    try:
        async with session.begin_nested():
            await session.flush()
            await auth_repo.set_user_schools(
                session, user.id, checked.scope.school_ids if role is Role.SCHOOL_STAFF else []
            )
    except IntegrityError as exc:
        raise user_integrity_error(exc) from None


async def send_reset(
    session: AsyncSession, principal: Principal, settings: Settings, user_id: int
) -> None:
    """Mail the user a one-time link to choose a new password (their current one keeps
    working until they do)."""
    user = await _managed(session, principal, user_id)
    if not user.active:
        raise Conflict(N_("The account is deactivated; reactivate it first."))
    if not mail.has_mailbox(user.email):
        raise Conflict(N_("This account has no email address; an administrator sets its password."))
    await accounts.mail_reset(session, settings, user)

"""Authentication and user administration rules. Services never commit: the request's
transaction does, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import asyncpg
import msgspec
from msgspec import UNSET
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.auth import cache
from devicetrack.auth import repository as repo
from devicetrack.auth.models import ApiKey, User
from devicetrack.auth.principal import Principal
from devicetrack.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    MeRead,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from devicetrack.auth.secrets import hash_password, new_token, token_digest, verify_password
from devicetrack.auth.values import Locale, Role
from devicetrack.config import Settings
from devicetrack.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from devicetrack.i18n import N_


class LoginRefused(msgspec.Struct):
    detail: str


async def principal_for_credential(
    pool: asyncpg.Pool, credential: str, cache_seconds: float = 0
) -> Principal | None:
    digest = token_digest(credential)
    if cache_seconds and (cached := cache.get(digest)) is not None:
        return cached
    is_key = credential.startswith("dtk_")
    row = await repo.principal_row(pool, digest, api_key=is_key)
    if row is None:
        return None
    principal = Principal(
        user_id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        province_code=row["province_code"],
        school_ids=frozenset(row["school_ids"] or ()),
        donor_id=row["donor_id"],
        locale=row["locale"],
        via_api_key=is_key,
    )
    cache.put(digest, principal, cache_seconds)
    return principal


def _throttled(detail: str, settings: Settings) -> TooManyRequests:
    return TooManyRequests(detail, extra={"retry_after_seconds": settings.login_window_seconds})


async def login(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    email: str,
    password: str,
    address: str,
) -> TokenRead | LoginRefused:
    """Check a password and issue a token.

    The attempt is recorded (and counted) before the password is checked, atomically per
    account, so parallel guesses cannot all slip under the limit: at most
    `login_max_failures` passwords of one account are checked per window. A correct password
    then wipes the account's failures. The per-address count never refuses a correct
    password (a school's shared computer or NAT must not lock its admin out); it only turns
    the answer to a wrong one into a 429."""
    email = email.strip().lower()
    window = timedelta(seconds=settings.login_window_seconds)
    attempt = await repo.reserve_attempt(
        engine, email, address, window, settings.login_max_failures
    )
    if attempt.id is None:
        raise _throttled(
            N_("Too many failed sign-in attempts; wait a few minutes and try again."), settings
        )
    user = await repo.user_by_email(session, email)
    # argon2 costs tens to hundreds of milliseconds of CPU: in a thread, so that the other
    # requests go on meanwhile (on the event loop, 40 parallel sign-ins stalled the server).
    correct = await anyio.to_thread.run_sync(
        verify_password, user.password_hash if user else None, password
    )
    if not correct or not (user and user.active):
        # The reserved attempt stays recorded: it is this failure.
        # An address may hold several accounts (a school's shared computer), so it gets more room.
        if attempt.by_address >= 4 * settings.login_max_failures:
            raise _throttled(
                N_("Too many failed sign-in attempts from this address; wait a few minutes."),
                settings,
            )
        return LoginRefused(N_("Email or password is wrong, or the account is deactivated."))
    await repo.clear_failures(session, email, up_to=attempt.id)
    token = new_token("dt")
    expires_at = datetime.now(UTC) + timedelta(hours=settings.token_ttl_hours)
    assert user.id is not None
    await repo.add_token(session, token_digest(token), user.id, expires_at)
    return TokenRead(access_token=token, expires_at=expires_at)


async def logout(session: AsyncSession, token: str) -> None:
    """End one session: its token stops working at once (the cache is dropped too)."""
    digest = token_digest(token)
    cache.drop(digest)
    await repo.revoke_token(session, digest)


async def locale_of(session: AsyncSession, email: str) -> str:
    user = await repo.user_by_email(session, email.strip().lower())
    return user.locale if user else "vi"


async def set_locale(session: AsyncSession, principal: Principal, locale: str) -> None:
    if locale not in set(Locale):
        raise ValidationFailed(
            N_("Language must be one of: {choices}."),
            errors=[FieldError(field="lang", message=N_("not one of the choices"))],
            choices=", ".join(Locale),
        )
    await repo.set_locale(session, principal.user_id, locale)
    cache.forget_user(principal.user_id)


def me(principal: Principal) -> MeRead:
    return MeRead(
        id=principal.user_id,
        email=principal.email,
        full_name=principal.full_name,
        role=Role(principal.role),
        province_code=principal.province_code,
        school_ids=sorted(principal.school_ids),
        donor_id=principal.donor_id,
        locale=principal.locale,
    )


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden(N_("Only an administrator may manage users and API keys."))


def _user_read(user: User, school_ids: list[int]) -> UserRead:
    assert user.id is not None and user.created_at is not None
    return UserRead(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=Role(user.role),
        province_code=user.province_code,
        school_ids=school_ids,
        donor_id=user.donor_id,
        active=user.active,
        locale=user.locale,
        created_at=user.created_at,
    )


def _check_role_scope(data: UserCreate) -> None:
    errors: list[FieldError] = []
    if data.role == "province_officer" and not data.province_code:
        errors.append(FieldError(field="province_code", message=N_("a province officer needs one")))
    if data.role == "school_staff" and not data.school_ids:
        errors.append(FieldError(field="school_ids", message=N_("school staff need one or more")))
    if data.role == "donor" and data.donor_id is None:
        errors.append(FieldError(field="donor_id", message=N_("a donor user needs a donor")))
    if errors:
        raise ValidationFailed(N_("The role needs a scope."), errors=errors)


async def create_user(session: AsyncSession, principal: Principal, data: UserCreate) -> UserRead:
    require_admin(principal)
    _check_role_scope(data)
    # argon2 in a thread, as at sign-in: tens to hundreds of milliseconds of CPU.
    password_hash = await anyio.to_thread.run_sync(hash_password, data.password)
    user = User(
        email=data.email.strip().lower(),
        full_name=data.full_name,
        password_hash=password_hash,
        role=data.role,
        province_code=data.province_code if data.role == "province_officer" else None,
        donor_id=data.donor_id if data.role == "donor" else None,
        locale=data.locale,
    )
    school_ids = sorted(set(data.school_ids)) if data.role == "school_staff" else []
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
            assert user.id is not None
            await repo.set_user_schools(session, user.id, school_ids)
    except IntegrityError as exc:
        raise _user_integrity_error(exc) from None
    await session.refresh(user)
    return _user_read(user, school_ids)


def _user_integrity_error(exc: IntegrityError) -> Conflict | ValidationFailed:
    message = str(exc.orig)
    if "uq_users_email" in message:
        return Conflict(
            N_("A user with this email exists."),
            errors=[FieldError(field="email", message=N_("already in use"))],
        )
    for constraint, field, unknown in (
        ("fk_users_province_code_provinces", "province_code", N_("Unknown province.")),
        ("fk_users_donor_id_donors", "donor_id", N_("Unknown donor.")),
        ("fk_user_schools_school_id_schools", "school_ids", N_("Unknown school.")),
    ):
        if constraint in message:
            return ValidationFailed(
                unknown, errors=[FieldError(field=field, message=N_("does not exist"))]
            )
    return ValidationFailed(N_("The user could not be saved."))


async def list_users(
    session: AsyncSession, principal: Principal, *, after_id: int | None, limit: int
) -> list[UserRead]:
    require_admin(principal)
    users = await repo.list_users(session, after_id=after_id, limit=limit, where=[])
    schools = await repo.school_ids_of(session, [u.id for u in users if u.id is not None])
    return [_user_read(u, schools.get(u.id or 0, [])) for u in users]


async def get_user(session: AsyncSession, principal: Principal, user_id: int) -> UserRead:
    require_admin(principal)
    user = await repo.get_user(session, user_id)
    if user is None or user.id is None:
        raise NotFound(N_("No user {id}."), id=user_id)
    schools = await repo.school_ids_of(session, [user.id])
    return _user_read(user, schools[user.id])


async def update_user(
    session: AsyncSession, principal: Principal, user_id: int, data: UserUpdate
) -> UserRead:
    require_admin(principal)
    user = await repo.get_user(session, user_id)
    if user is None or user.id is None:
        raise NotFound(N_("No user {id}."), id=user_id)
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
        await repo.revoke_tokens_of(session, user.id)
        await repo.revoke_api_keys_of(session, user.id)
    if data.password is not UNSET:
        user.password_hash = await anyio.to_thread.run_sync(hash_password, data.password)
    if data.active is not UNSET:
        user.active = data.active
    if data.school_ids is not UNSET:
        if user.role != "school_staff":
            raise ValidationFailed(
                N_("Only school staff have schools."),
                errors=[FieldError(field="school_ids", message=N_("not for this role"))],
            )
        try:
            async with session.begin_nested():
                await repo.set_user_schools(session, user.id, sorted(set(data.school_ids)))
        except IntegrityError as exc:
            raise _user_integrity_error(exc) from None
    await session.flush()
    return await get_user(session, principal, user_id)


async def create_api_key(
    session: AsyncSession, principal: Principal, data: ApiKeyCreate
) -> ApiKeyCreated:
    require_admin(principal)
    owner = await repo.get_user(session, data.user_id)
    if owner is None:
        raise ValidationFailed(
            N_("Unknown user."), errors=[FieldError(field="user_id", message=N_("does not exist"))]
        )
    key = new_token("dtk")
    row = await repo.add_api_key(
        session,
        ApiKey(
            name=data.name,
            prefix=key[:10],
            key_hash=token_digest(key),
            user_id=data.user_id,
            created_by=principal.user_id,
        ),
    )
    assert row.id is not None
    return ApiKeyCreated(id=row.id, name=row.name, user_id=row.user_id, key=key)


def _api_key_read(key: ApiKey) -> ApiKeyRead:
    assert key.id is not None and key.created_at is not None
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        user_id=key.user_id,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


async def list_api_keys(
    session: AsyncSession, principal: Principal, *, after_id: int | None, limit: int
) -> list[ApiKeyRead]:
    require_admin(principal)
    return [
        _api_key_read(k) for k in await repo.list_api_keys(session, after_id=after_id, limit=limit)
    ]


async def revoke_api_key(session: AsyncSession, principal: Principal, key_id: int) -> None:
    require_admin(principal)
    key = await repo.get_api_key(session, key_id)
    if key is None:
        raise NotFound(N_("No API key {id}."), id=key_id)
    await repo.revoke_api_key(session, key_id)
    cache.forget_user(key.user_id)


def unauthorized(detail: str = N_("Send a valid bearer token or API key.")) -> Unauthorized:
    return Unauthorized(detail)

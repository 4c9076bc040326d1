"""Queries for users, tokens, API keys and login attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from sqlalchemy import ColumnElement, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.auth.models import ApiKey, AuthToken, LoginAttempt, User, UserSchool

# One round trip resolves a bearer token or API key to the caller with its school scope.
# These run on the plain asyncpg pool (db/fastpool.py), so they use $1 placeholders.
PRINCIPAL_BY_TOKEN = """
    SELECT u.id, u.email, u.full_name, u.role, u.province_code, u.donor_id, u.locale,
           ARRAY(SELECT school_id FROM user_schools s WHERE s.user_id = u.id) AS school_ids
    FROM auth_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = $1 AND t.expires_at > now() AND u.active
"""
PRINCIPAL_BY_API_KEY = """
    UPDATE api_keys k SET last_used_at = now()
    FROM users u
    WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.id = k.user_id AND u.active
    RETURNING u.id, u.email, u.full_name, u.role, u.province_code, u.donor_id, u.locale,
              ARRAY(SELECT school_id FROM user_schools s WHERE s.user_id = u.id) AS school_ids
"""


async def principal_row(pool: asyncpg.Pool, digest: str, *, api_key: bool) -> asyncpg.Record | None:
    return await pool.fetchrow(PRINCIPAL_BY_API_KEY if api_key else PRINCIPAL_BY_TOKEN, digest)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def school_ids_of(session: AsyncSession, user_ids: list[int]) -> dict[int, list[int]]:
    rows = await session.execute(
        select(UserSchool.user_id, UserSchool.school_id)
        .where(UserSchool.user_id.in_(user_ids))
        .order_by(UserSchool.school_id)
    )
    result: dict[int, list[int]] = {uid: [] for uid in user_ids}
    for user_id, school_id in rows:
        result[user_id].append(school_id)
    return result


async def set_user_schools(session: AsyncSession, user_id: int, school_ids: list[int]) -> None:
    await session.execute(delete(UserSchool).where(UserSchool.user_id == user_id))
    if school_ids:
        await session.execute(
            insert(UserSchool), [{"user_id": user_id, "school_id": s} for s in school_ids]
        )


async def list_users(
    session: AsyncSession, *, after_id: int | None, limit: int, where: list[ColumnElement[bool]]
) -> list[User]:
    query = select(User).where(*where).order_by(User.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(User.id > after_id)
    return list((await session.execute(query)).scalars())


async def add_token(session: AsyncSession, digest: str, user_id: int, expires_at: datetime) -> None:
    session.add(AuthToken(token_hash=digest, user_id=user_id, expires_at=expires_at))
    await session.flush()


async def revoke_tokens_of(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(AuthToken).where(AuthToken.user_id == user_id))


async def revoke_api_keys_of(session: AsyncSession, user_id: int) -> None:
    """Keys are marked, not deleted, so the admin's list shows when and that they ended."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_token(session: AsyncSession, digest: str) -> None:
    await session.execute(delete(AuthToken).where(AuthToken.token_hash == digest))


async def set_locale(session: AsyncSession, user_id: int, locale: str) -> None:
    await session.execute(update(User).where(User.id == user_id).values(locale=locale))


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt reserved before its password is checked. `id` is None when the
    account already had its allowance of failures in the window (nothing was reserved)."""

    id: int | None
    by_email: int
    by_address: int


# Counted and recorded under a per-account lock, in a transaction of its own: parallel
# attempts on one account take turns here, and each sees the ones committed before it.
# (In READ COMMITTED each statement takes a fresh snapshot, so this statement, run after the
# lock is granted, sees every attempt of the previous holder.)
_LOCK_ACCOUNT = "SELECT pg_advisory_xact_lock(hashtextextended('login:' || :email, 0))"
_RESERVE = """
    WITH recent AS (
        SELECT count(*) FILTER (WHERE email = :email) AS by_email,
               count(*) FILTER (WHERE address = :address) AS by_address
        FROM login_attempts
        WHERE (email = :email OR address = :address) AND at > now() - CAST(:window AS interval)
    ), reserved AS (
        INSERT INTO login_attempts (email, address)
        SELECT CAST(:email AS text), CAST(:address AS text) FROM recent WHERE by_email < :allowed
        RETURNING id
    )
    SELECT (SELECT id FROM reserved) AS id, by_email, by_address FROM recent
"""
# Attempts older than the window count for nothing; dropping them keeps a flood of made-up
# emails from growing the table without end (the index on `at` makes this cheap).
_PURGE = "DELETE FROM login_attempts WHERE at <= now() - CAST(:window AS interval)"


async def reserve_attempt(
    engine: AsyncEngine, email: str, address: str, window: timedelta, allowed: int
) -> Attempt:
    """Record an attempt on `email` from `address` unless the account already has `allowed`
    attempts in the window. Committed at once, on a connection of its own, so that parallel
    attempts see it before this one's password is checked; the request's own transaction
    commits only after the (slow) check."""
    params = {"email": email, "address": address, "window": window, "allowed": allowed}
    async with engine.begin() as conn:
        await conn.execute(text(_LOCK_ACCOUNT), params)
        row = (await conn.execute(text(_RESERVE), params)).one()
        await conn.execute(text(_PURGE), params)
    return Attempt(id=row.id, by_email=int(row.by_email), by_address=int(row.by_address))


async def clear_failures(session: AsyncSession, email: str, up_to: int) -> None:
    """A correct password wipes the account's failures up to its own attempt; attempts that
    started after it (a guesser running in parallel) still count."""
    await session.execute(
        delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.id <= up_to)
    )


async def add_api_key(session: AsyncSession, key: ApiKey) -> ApiKey:
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return key


async def get_api_key(session: AsyncSession, key_id: int) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def list_api_keys(
    session: AsyncSession, *, user_id: int | None, after_id: int | None, limit: int
) -> list[tuple[ApiKey, str]]:
    """Keys with their user's email, by id."""
    query = (
        select(ApiKey, User.email)
        .join(User, User.id == ApiKey.user_id)
        .order_by(ApiKey.id)
        .limit(limit + 1)
    )
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    if after_id is not None:
        query = query.where(ApiKey.id > after_id)
    return [(key, email) for key, email in await session.execute(query)]


async def revoke_api_key(session: AsyncSession, key_id: int) -> None:
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )

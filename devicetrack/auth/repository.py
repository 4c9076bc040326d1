"""Queries for users, tokens, API keys and login attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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


async def revoke_token(session: AsyncSession, digest: str) -> None:
    await session.execute(delete(AuthToken).where(AuthToken.token_hash == digest))


async def set_locale(session: AsyncSession, user_id: int, locale: str) -> None:
    await session.execute(update(User).where(User.id == user_id).values(locale=locale))


async def recent_failures(
    session: AsyncSession, email: str, address: str, window: timedelta
) -> tuple[int, int]:
    since = func.now() - window
    by_email = select(func.count()).where(LoginAttempt.email == email, LoginAttempt.at > since)
    by_address = select(func.count()).where(
        LoginAttempt.address == address, LoginAttempt.at > since
    )
    row = (
        await session.execute(select(by_email.scalar_subquery(), by_address.scalar_subquery()))
    ).one()
    return int(row[0]), int(row[1])


async def record_failure(session: AsyncSession, email: str, address: str) -> None:
    await session.execute(insert(LoginAttempt).values(email=email, address=address))


async def clear_failures(session: AsyncSession, email: str) -> None:
    await session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))


async def add_api_key(session: AsyncSession, key: ApiKey) -> ApiKey:
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return key


async def get_api_key(session: AsyncSession, key_id: int) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def list_api_keys(session: AsyncSession, *, after_id: int | None, limit: int) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(ApiKey.id > after_id)
    return list((await session.execute(query)).scalars())


async def revoke_api_key(session: AsyncSession, key_id: int) -> None:
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )

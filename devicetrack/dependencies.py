"""Dependencies every controller shares: the request's transaction, the caller, settings."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import asyncpg
from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.service import principal_for_credential, unauthorized
from devicetrack.config import Settings
from devicetrack.db import replica
from devicetrack.errors import LOCALE_STATE, DomainError
from devicetrack.i18n import N_
from devicetrack.idempotency import service as idempotency
from devicetrack.idempotency.service import READ_ONLY_METHODS


async def provide_transaction(
    request: Request[Any, Any, Any], db_session: AsyncSession
) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request, committed in this one place when the handler returns
    normally, and rolled back when it raises (Litestar throws the exception in here).

    Reads run in autocommit instead: no BEGIN/COMMIT round trips on the hot lookup path,
    and nothing to commit. A read that needs one snapshot across statements does it in
    one statement.

    A write with an Idempotency-Key (API routes, and the pages' routes the outbox sends
    to) runs in idempotency.keyed_transaction:
    the same one transaction, which also takes the key, and writes the answer with the
    change before this one commit."""
    if request.method in READ_ONLY_METHODS:
        # A lag-tolerant read may be served by the replica (db/replica.py decides).
        async with replica.read_session(request) as on_replica:
            if on_replica is not None:
                yield on_replica
                return
        await db_session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield db_session
        return
    key = idempotency.requested_key(request)
    # A page route keyed for the outbox names its own caller (the session's user).
    resolve = request.route_handler.opt.get("idempotency_caller", _caller_or_none)
    caller = await resolve(request) if key is not None else None
    if key is None or caller is None:
        # No key, or no caller to keep it for (the principal dependency refuses the
        # request then): as without the header.
        async with db_session.begin():
            yield db_session
        return
    settings: Settings = request.app.state.settings
    claim = await idempotency.claim_for(request, caller.user_id, key)
    async with idempotency.keyed_transaction(
        request, db_session, claim, settings.idempotency_hours
    ):
        yield db_session


async def provide_engine(
    request: Request[Any, Any, Any], primary_engine: AsyncEngine
) -> AsyncGenerator[AsyncEngine, None]:
    """The engine for handlers that open their own connections (exports, sign-in): the
    replica's for a lag-tolerant read when db/replica.py says so, else the primary's."""
    async with replica.read_engine(request, primary_engine) as engine:
        yield engine


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings  # State holds Any; app.py put Settings there
    return settings


def provide_pool(state: State) -> asyncpg.Pool:
    pool: asyncpg.Pool = state.pg_pool  # set by db/fastpool.py's start-up hook
    return pool


def _credential(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if not credential:
        # API keys may also come in their own header, as integrations expect.
        credential = request.headers.get("x-api-key", "")
    elif scheme.lower() != "bearer":
        raise unauthorized(N_("Use the Bearer scheme."))
    credential = credential.strip()
    if not credential:
        raise unauthorized()
    return credential


async def _caller_or_none(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller an Idempotency-Key belongs to (a user, or the user of an API key), or
    None when the credential is missing or unknown. Resolved here as well as in
    provide_principal because the two are sibling dependencies (see below); the
    credential cache makes the second lookup cheap."""
    try:
        credential = _credential(request)
    except DomainError:
        return None
    settings: Settings = request.app.state.settings
    return await principal_for_credential(
        request.app.state.pg_pool, credential, settings.auth_cache_seconds
    )


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller. Pool and settings come from the app's state rather than as dependencies:
    Litestar resolves sibling dependencies in a task group, and two tasks per request showed
    up in the lookup's profile; one dependency with none of its own resolves inline."""
    pool: asyncpg.Pool = request.app.state.pg_pool
    settings: Settings = request.app.state.settings
    credential = _credential(request)
    principal = await principal_for_credential(pool, credential, settings.auth_cache_seconds)
    if principal is None:
        raise unauthorized(N_("The token is unknown, expired or revoked, or the user is inactive."))
    state = request.scope.setdefault("state", {})
    state["user_id"] = principal.user_id
    state[LOCALE_STATE] = principal.locale  # the language of a refusal (errors.reader_language)
    return principal

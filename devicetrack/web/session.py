"""Sign-in for pages: a session cookie holding an API token, and CSRF tokens for forms.

The cookie is HttpOnly and SameSite=Lax, and Secure whenever the request came over HTTPS
(or always, when DEVICETRACK_COOKIE_SECURE=1): a school intranet on plain HTTP can still
sign in. CSRF tokens are an HMAC of the session token, so they cannot be guessed from
another site and need no server-side storage; before sign-in a double-submit cookie
protects the login form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.datastructures import Cookie

from devicetrack.auth.principal import Principal
from devicetrack.auth.service import principal_for_credential
from devicetrack.config import Settings
from devicetrack.errors import LOCALE_STATE, DomainError
from devicetrack.i18n import N_
from devicetrack.schools import service as schools

SESSION_COOKIE = "dt_session"
PRE_CSRF_COOKIE = "dt_csrf"
LANG_COOKIE = "dt_lang"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(DomainError):
    status, kind, title = 401, "sign-in", N_("Sign in first")


class CsrfRefused(DomainError):
    status, kind, title = 403, "csrf", N_("The form expired; reload the page and try again")


def session_token(request: Request[Any, Any, Any]) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def csrf_for(request: Request[Any, Any, Any]) -> str:
    """The token forms of this request must carry back."""
    token = session_token(request)
    if token:
        return hmac.new(token.encode(), b"devicetrack-csrf", hashlib.sha256).hexdigest()[:40]
    return request.scope.setdefault("state", {}).get("pre_csrf") or request.cookies.get(
        PRE_CSRF_COOKIE, ""
    )


def ensure_pre_csrf(request: Request[Any, Any, Any]) -> str | None:
    """A new double-submit value when the visitor has none yet (set by `cookies_for`)."""
    if request.cookies.get(PRE_CSRF_COOKIE):
        return None
    value = secrets.token_urlsafe(24)
    request.scope.setdefault("state", {})["pre_csrf"] = value
    return value


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else ""
    expected = csrf_for(request)
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()


def secure_cookies(request: Request[Any, Any, Any], settings: Settings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https"


def cookie(
    request: Request[Any, Any, Any],
    settings: Settings,
    key: str,
    value: str,
    *,
    max_age: int | None = None,
    http_only: bool = True,
) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path="/",
        max_age=max_age,
        httponly=http_only,
        samesite="lax",
        secure=secure_cookies(request, settings),
    )


def set_session(
    response: Response[Any], request: Request[Any, Any, Any], settings: Settings, token: str
) -> None:
    response.set_cookie(
        cookie(request, settings, SESSION_COOKIE, token, max_age=settings.token_ttl_hours * 3600)
    )


def clear_session(response: Response[Any]) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


async def keyed_caller(request: Request[Any, Any, Any]) -> Principal | None:
    """Whom an Idempotency-Key sent to a page's JSON route (the outbox's) belongs to: the
    session's user, and only when the request carries the session's CSRF header too (else
    no key is taken, and provide_web_principal refuses the request as it would anyway).
    Only the `.json` twin takes one: the form's answer is a redirect, whose address a
    replay would not carry."""
    if not request.url.path.endswith(".json"):
        return None
    token = session_token(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if not token or not hmac.compare_digest(sent.encode(), csrf_for(request).encode()):
        return None
    settings: Settings = request.app.state.settings
    return await principal_for_credential(
        request.app.state.pg_pool, token, settings.auth_cache_seconds
    )


async def provide_web_principal(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in user, checked exactly as an API bearer token is; CSRF is checked
    here too, so no form handler can forget it."""
    pool: asyncpg.Pool = request.app.state.pg_pool
    settings: Settings = request.app.state.settings
    token = session_token(request)
    principal = (
        await principal_for_credential(pool, token, settings.auth_cache_seconds) if token else None
    )
    if principal is None:
        raise SignInRequired()
    state = request.scope.setdefault("state", {})
    state["user_id"] = principal.user_id
    state[LOCALE_STATE] = principal.locale
    await check_csrf(request)
    if names := await schools.my_school_names(pool, principal):
        state["my_school_names"] = names  # the menu names each of the user's schools
    return principal

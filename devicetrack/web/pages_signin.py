"""Signing in and out, and the language switch."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.auth import service as auth
from devicetrack.auth.client_address import client_address
from devicetrack.auth.service import LoginRefused
from devicetrack.auth.values import Locale
from devicetrack.config import Settings
from devicetrack.i18n import N_
from devicetrack.web import session
from devicetrack.web.forms import Form
from devicetrack.web.navigation import safe_next
from devicetrack.web.render import page


class SignInPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/login")
    async def login_form(
        self, request: Request[Any, Any, Any], next: str | None = None
    ) -> Response[Any]:
        return page(request, "login.html", None, next=safe_next(next) or "")

    @post("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
    ) -> Response[Any]:
        await session.check_csrf(request)
        form = await Form.of(request)
        email = form.text("email", required=True, max_length=254) or ""
        password = form.text("password", required=True, max_length=200) or ""
        target = safe_next(form.text("next"))
        if form.errors:
            return page(
                request,
                "login.html",
                None,
                status=422,
                error=N_("Enter your email and password."),
                email=email,
                next=target or "",
            )
        address = client_address(request, settings.trusted_proxies)
        result = await auth.login(tx, db_engine, settings, email, password, address)
        if isinstance(result, LoginRefused):
            return page(
                request,
                "login.html",
                None,
                status=401,
                error=result.detail,
                email=email,
                next=target or "",
            )
        # Home is worked out by "/" on the next request: the new token is not committed yet.
        response: Response[Any] = Redirect(target or "/", status_code=303)
        session.set_session(response, request, settings, result.access_token)
        if request.cookies.get(session.LANG_COOKIE) is None:
            locale = await auth.locale_of(tx, email)
            response.set_cookie(
                session.cookie(request, settings, session.LANG_COOKIE, locale, max_age=365 * 86400)
            )
        return response

    @post("/lang")
    async def language(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        pool: asyncpg.Pool,
        settings: Settings,
    ) -> Response[Any]:
        """Switch language; a signed-in user keeps the choice on their account."""
        await session.check_csrf(request)
        form = await Form.of(request)
        lang = form.choice("lang", Locale, required=True) or Locale.VI
        token = session.session_token(request)
        principal = await auth.principal_for_credential(pool, token, 0) if token else None
        if principal is not None:
            await auth.set_locale(tx, principal, lang)
        response: Response[Any] = Redirect(safe_next(form.text("next")) or "/", status_code=303)
        response.set_cookie(
            session.cookie(request, settings, session.LANG_COOKIE, lang, max_age=365 * 86400)
        )
        return response

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any], tx: AsyncSession) -> Response[Any]:
        """Works with an expired session too: the cookie is cleared either way."""
        await session.check_csrf(request)
        token = session.session_token(request)
        if token:
            await auth.logout(tx, token)
        response: Response[Any] = Redirect("/login", status_code=303)
        session.clear_session(response)
        # A shared phone: the pages kept for offline use (students' names), the outbox and
        # the school's snapshot go with the session (app.js also deletes them first).
        response.headers["Clear-Site-Data"] = '"cache", "storage"'

        return response

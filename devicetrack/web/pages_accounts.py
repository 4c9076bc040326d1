"""Account pages: a forgotten password (ask for a link, set a new one), accepting an
invitation, each user's own password, language and digests (pages_digests.py), and the
admin's mail outbox. The same
services as the API (accounts/, mail/)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.accounts import service as accounts
from devicetrack.accounts.schemas import (
    InvitationAccept,
    MeUpdate,
    PasswordChange,
    PasswordResetConfirm,
)
from devicetrack.auth.client_address import client_address
from devicetrack.auth.limits import NEW_PASSWORD_MIN
from devicetrack.auth.principal import Principal
from devicetrack.auth.schemas import TokenRead
from devicetrack.auth.values import Locale
from devicetrack.common.pagination import decode_cursor, encode_cursor
from devicetrack.config import Settings
from devicetrack.digests import service as digests
from devicetrack.errors import DomainError, FieldError, ValidationFailed
from devicetrack.i18n import N_, Message
from devicetrack.mail import service as mail
from devicetrack.web import session
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.render import page

MIN_PASSWORD = NEW_PASSWORD_MIN  # the API's NewPassword minimum: one number, not a copy
OUTBOX_PAGE = 20


def _new_password(form: Form, name: str = "password") -> str | None:
    """A new password typed twice, at least MIN_PASSWORD characters."""
    password = form.text(name, required=True, max_length=200)
    again = form.text(f"{name}_again", required=True, max_length=200)
    if password is not None and len(password) < MIN_PASSWORD:
        form.errors.append(
            FieldError(field=name, message=Message(N_("at least {n} characters"), n=MIN_PASSWORD))
        )
        return None
    if password is not None and again is not None and password != again:
        form.errors.append(
            FieldError(field=f"{name}_again", message=N_("the two passwords differ"))
        )
        return None
    return password


def _signed_in(
    request: Request[Any, Any, Any], settings: Settings, token: TokenRead, target: str
) -> Response[Any]:
    response: Response[Any] = Redirect(target, status_code=303)
    session.set_session(response, request, settings, token.access_token)
    return response


class PasswordResetPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/password-reset")
    async def ask(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "password_reset.html", None, sent=False, email="")

    @post("/password-reset")
    async def send(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
    ) -> Response[Any]:
        await session.check_csrf(request)
        form = await Form.of(request)
        email = form.text("email", required=True, max_length=254) or ""
        error: DomainError | None = form.refusal("Enter your email.")
        if error is None:
            address = client_address(request, settings.trusted_proxies)
            error = (
                await attempt(
                    tx, lambda: accounts.request_reset(tx, db_engine, settings, email, address)
                )
                or None
            )
        if error is not None:
            return page(request, "password_reset.html", None, error=error, sent=False, email=email)
        return page(request, "password_reset.html", None, sent=True, email=email)

    @get("/password-reset/confirm")
    async def choose(self, request: Request[Any, Any, Any], token: str = "") -> Response[Any]:
        return page(request, "password_reset_confirm.html", None, token=token[:200], changed=False)

    @post("/password-reset/confirm")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
    ) -> Response[Any]:
        await session.check_csrf(request)
        form = await Form.of(request)
        token = form.text("token", required=True, max_length=200) or ""
        password = _new_password(form)
        error: DomainError | None = form.refusal()
        if error is None and password is not None:
            address = client_address(request, settings.trusted_proxies)
            data = PasswordResetConfirm(token=token, password=password)
            error = (
                await attempt(
                    tx, lambda: accounts.confirm_reset(tx, db_engine, settings, data, address)
                )
                or None
            )
        if error is not None:
            return page(
                request,
                "password_reset_confirm.html",
                None,
                error=error,
                token=token,
                changed=False,
            )
        return page(request, "password_reset_confirm.html", None, token="", changed=True)


class InvitationPages(Controller):
    path = "/invitations"
    include_in_schema = False

    @get("/accept")
    async def form(self, request: Request[Any, Any, Any], code: str = "") -> Response[Any]:
        return page(request, "invitation_accept.html", None, code=code[:200])

    @post("/accept")
    async def accept(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
    ) -> Response[Any]:
        await session.check_csrf(request)
        form = await Form.of(request)
        code = form.text("code", required=True, max_length=200) or ""
        password = _new_password(form)
        result: TokenRead | DomainError | None = form.refusal()
        if result is None and password is not None:
            address = client_address(request, settings.trusted_proxies)
            data = InvitationAccept(code=code, password=password)
            result = await attempt(
                tx, lambda: accounts.accept(tx, db_engine, settings, data, address)
            )
        if not isinstance(result, TokenRead):
            return page(request, "invitation_accept.html", None, error=result, code=code)
        # Home is worked out by "/" on the next request, once the new user is committed.
        return _signed_in(request, settings, result, "/")


async def _account_page(
    request: Request[Any, Any, Any],
    tx: AsyncSession,
    principal: Principal,
    error: DomainError | None = None,
) -> Response[Any]:
    choices = await digests.choices(tx, principal)
    return page(
        request, "account.html", principal, error=error, locales=Locale, values={}, digests=choices
    )


class AccountPages(Controller):
    path = "/account"
    include_in_schema = False

    @get("/")
    async def show(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal
    ) -> Response[Any]:
        return await _account_page(request, tx, principal)

    @post("/password")
    async def password(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
        principal: Principal,
    ) -> Response[Any]:
        form = await Form.of(request)
        current = form.text("current_password", required=True, max_length=200)
        new = _new_password(form, "new_password")
        result: TokenRead | DomainError | None = form.refusal()
        if result is None and current is not None and new is not None:
            address = client_address(request, settings.trusted_proxies)
            data = PasswordChange(current_password=current, new_password=new)
            result = await attempt(
                tx,
                lambda: accounts.change_password(tx, db_engine, settings, principal, data, address),
            )
        if not isinstance(result, TokenRead):
            return await _account_page(request, tx, principal, result)
        # Every session ended with the old password; this browser gets the new one.
        response = done("/account", "Saved.")
        session.set_session(response, request, settings, result.access_token)
        return response

    @post("/language")
    async def language(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        settings: Settings,
        principal: Principal,
    ) -> Response[Any]:
        form = await Form.of(request)
        locale = form.choice("locale", Locale, required=True)
        if locale is None:
            refused = form.refusal() or ValidationFailed(N_("Choose a language."))
            return await _account_page(request, tx, principal, refused)
        await accounts.update_me(tx, principal, MeUpdate(locale=locale))
        response = done("/account", "Saved.")
        response.set_cookie(
            session.cookie(request, settings, session.LANG_COOKIE, locale, max_age=365 * 86400)
        )
        return response


class OutboxPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/outbox")
    async def outbox(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        before: str | None = None,
    ) -> Response[Any]:
        """Every email that went to the outbox (no SMTP server configured), newest first."""
        rows = await mail.outbox(tx, principal, before_id=decode_cursor(before), limit=OUTBOX_PAGE)
        more = encode_cursor(rows[OUTBOX_PAGE - 1].id) if len(rows) > OUTBOX_PAGE else None
        return page(
            request,
            "outbox.html",
            principal,
            messages=rows[:OUTBOX_PAGE],
            more=more,
            smtp=settings.smtp_url is not None,
        )

    @get("/outbox/{message_id:int}/attachments/{attachment_id:int}")
    async def outbox_attachment(
        self, tx: AsyncSession, principal: Principal, message_id: int, attachment_id: int
    ) -> Response[bytes]:
        """A file attached to an outbox email (a digest's XLSX or PDF), as sent."""
        found = await mail.outbox_attachment(tx, principal, message_id, attachment_id)
        name = "".join(c for c in found.filename if c.isascii() and c not in '"\\\r\n')
        return Response(
            found.content,
            media_type=found.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{name or "attachment"}"',
                "Cache-Control": "no-store",
            },
        )

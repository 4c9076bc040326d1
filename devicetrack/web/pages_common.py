"""Pages every role shares: sign-in, language, home, the scan box and the device page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.auth import service as auth
from devicetrack.auth.client_address import client_address
from devicetrack.auth.principal import Principal
from devicetrack.auth.service import LoginRefused
from devicetrack.auth.values import Locale
from devicetrack.config import Settings
from devicetrack.custody import service as device_actions
from devicetrack.devices import lifecycle
from devicetrack.devices import service as devices
from devicetrack.devices.schemas import ActionBody, ActionResult, DeviceRead, DeviceUpdate
from devicetrack.devices.values import SIM_HOSTS, Condition
from devicetrack.errors import DomainError
from devicetrack.labels import render as labels_render
from devicetrack.labels import service as labels
from devicetrack.schools import repository as schools_repo
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments
from devicetrack.web import session
from devicetrack.web.forms import Form, attempt
from devicetrack.web.render import DONE_MESSAGES, page


def home_of(principal: Principal) -> str:
    if principal.is_school_staff and principal.school_ids:
        return f"/schools/{min(principal.school_ids)}"
    if principal.is_donor:
        return "/donor"
    return "/province"


def safe_next(target: str | None) -> str | None:
    """Only paths of this site: `next` must not send a user elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def done(url: str, message: str, n: int | None = None) -> Redirect:
    """Post/redirect/get with a short confirmation shown on the next page."""
    assert message in DONE_MESSAGES, message
    joiner = "&" if "?" in url else "?"
    count = f"&n={n}" if n is not None else ""
    return Redirect(f"{url}{joiner}done={quote(message)}{count}", status_code=303)


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
                error="Enter your email and password.",
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
                error="Email or password is wrong, or the account is deactivated.",
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
        return response


class CommonPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(self, principal: Principal) -> Response[Any]:
        return Redirect(home_of(principal), status_code=303)

    @get("/scan")
    async def scan(
        self,
        request: Request[Any, Any, Any],
        pool: asyncpg.Pool,
        principal: Principal,
        code: str = "",
    ) -> Response[Any]:
        """What the scan box sends: a tag (any case, dashes or not), IMEI, ICCID or serial."""
        code = code.strip()[:60]
        if not code:
            return page(request, "scan.html", principal, code="")
        try:
            device = await devices.scan_lookup(pool, principal, code)
        except DomainError as exc:
            return page(
                request,
                "scan.html",
                principal,
                status=exc.status,
                code=code,
                error=exc,
                did_you_mean=exc.extra.get("did_you_mean"),
            )
        return Redirect(f"/devices/{device.asset_tag}", status_code=303)

    @get("/devices/{tag:str}")
    async def device(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
    ) -> Response[Any]:
        return await self._device_page(request, tx, principal, tag)

    async def _device_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
        *,
        failed: str | None = None,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        """The device page; after a refused action, that action's form is open with the
        reason and what was typed (`failed`, `error`, `values`)."""
        device = await devices.read_device(tx, principal, tag)
        events = await device_actions.list_events(
            tx, principal, device.asset_tag, after_id=None, limit=1000
        )
        svg = labels_render.label_svg(await labels.device_label(tx, principal, device.asset_tag))
        # Inline: drop the XML declaration; the SVG escapes its own text.
        label = Markup(svg.split("\n", 1)[-1])
        school_ids = [i for i in {device.school_id, *(e.school_id for e in events)} if i]
        names = await schools_repo.school_names(tx, school_ids)
        loan = None
        if device.status == "assigned" and not principal.is_donor:
            try:
                loan = await assignments.open_loan_of(tx, principal, device.asset_tag)
            except DomainError:
                loan = None
            else:
                # The page names the holder to the school's staff: a read of the student.
                await privacy.record_reads(tx, principal, privacy.route_of(request), [loan])
        allowed = [t.action for t in lifecycle.actions_for(principal, device)]
        targets = (
            await schools.transfer_targets(tx, principal, device.province_code, device.school_id)
            if "transfer" in allowed
            else []
        )
        return page(
            request,
            "device.html",
            principal,
            device=device,
            events=list(reversed(events)),
            label=label,
            school_names=names,
            loan=loan,
            actions=allowed,
            sim_hosts=SIM_HOSTS,
            transfer_targets=targets,
            conditions=Condition,
            failed=failed,
            error=error,
            values=values or {},
        )

    @post("/devices/{tag:str}/plan")
    async def renew_plan(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
    ) -> Response[Any]:
        """A SIM's plan renewed: a new expiry date (and the plan's name, if it changed)."""
        form = await Form.of(request)
        form.day("plan_expires_on", required=True)  # a renewal is a new expiry date
        data = form.into(DeviceUpdate)
        result: DeviceRead | DomainError | None = form.refusal()
        if result is None and data is not None:
            result = await attempt(tx, lambda: devices.update_device(tx, principal, tag, data))
        assert result is not None  # no refusal means the form converted
        if isinstance(result, DomainError):
            return await self._device_page(
                request, tx, principal, tag, failed="plan", error=result, values=form.values
            )
        return done(f"/devices/{result.asset_tag}", "Saved.")

    @post("/devices/{tag:str}/actions/{action:str}")
    async def action(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
        action: str,
    ) -> Response[Any]:
        form = await Form.of(request)
        body = form.into(ActionBody)
        result: ActionResult | DomainError | None = form.refusal()
        if result is None and body is not None:
            result = await attempt(
                tx, lambda: device_actions.perform(tx, principal, tag, action, body)
            )
        assert result is not None  # no refusal means the form converted
        if isinstance(result, DomainError):
            # Back to the device page with this action's form open, the reason and the
            # values typed; a device the caller may not see stays "not found".
            return await self._device_page(
                request, tx, principal, tag, failed=action, error=result, values=form.values
            )
        return done(f"/devices/{result.device.asset_tag}", "Saved.")

"""Rendering pages: one Jinja environment (autoescaped), the reader's language, and the
HTML answers to errors that the API would give as problem+json."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect

from devicetrack.audits import limits as audit_limits
from devicetrack.auth import limits as auth_limits
from devicetrack.auth.principal import Principal
from devicetrack.common import limits as common_limits
from devicetrack.custody import limits as custody_limits
from devicetrack.devices import limits as device_limits
from devicetrack.devices.identity import display_msisdn
from devicetrack.donations import limits as donation_limits
from devicetrack.errors import (
    LOCALE_STATE,
    STATUS_TITLES,
    DomainError,
    database_error_kind,
    foreign,
    handle_domain_error,
    handle_http_exception,
    handle_unexpected,
    litestar_message,
)
from devicetrack.evidence import limits as evidence_limits
from devicetrack.i18n import N_, SOURCE_LANGUAGE, N_plural
from devicetrack.middleware import ensure_request_id
from devicetrack.students import limits as student_limits
from devicetrack.web import charts, session
from devicetrack.web.assets import static_url
from devicetrack.web.i18n import LANGUAGES, Translator
from devicetrack.web.svg import bar_chart

log = logging.getLogger("devicetrack.web")
TEMPLATES = Path(__file__).parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
# `_` and `ngettext` in a template: the reader's Translator, which each render passes as
# `gettext`/`ngettext` (see `_language_context`); English where a template is rendered
# without one. Placeholders are `{name}` as in the code, not `%(name)s`: templates call
# `_()` and `ngettext()` rather than `{% trans %}` blocks.
env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
    gettext=Translator(SOURCE_LANGUAGE),
    ngettext=Translator(SOURCE_LANGUAGE).ngettext,
    newstyle=False,
)
env.globals["bar_chart"] = bar_chart
env.globals["gap_bars"] = charts.gap_bars
env.globals["school_coverage_bars"] = charts.school_coverage_bars
env.globals["commune_coverage_bars"] = charts.commune_coverage_bars
env.globals["without_enrolment"] = charts.without_enrolment
env.globals["static"] = static_url
env.filters["phone"] = display_msisdn
# The input limits, for the forms' maxlength (`limits.students.NAME`): the page's hint and
# the body its form converts into hold the same number.
env.globals["limits"] = SimpleNamespace(
    audits=audit_limits,
    auth=auth_limits,
    common=common_limits,
    custody=custody_limits,
    devices=device_limits,
    donations=donation_limits,
    evidence=evidence_limits,
    students=student_limits,
)


# The confirmations a page may show after a redirect (`done=` in the URL, the key here):
# base.html shows no other text, so a crafted link cannot put words on our pages. Those with
# a count (`n=` in the URL) take the form the count needs.
DONE_MESSAGES: dict[str, str] = {
    "Saved.": N_("Saved."),
    "{n} devices registered.": N_plural("{n} device registered.", "{n} devices registered."),
    "Device registered.": N_("Device registered."),
    "Student added.": N_("Student added."),
    "{n} students imported.": N_plural("{n} student imported.", "{n} students imported."),
    "Consent recorded.": N_("Consent recorded."),
    "Lent.": N_("Lent."),
    "Taken back.": N_("Taken back."),
    "Signature kept.": N_("Signature kept."),
    "Consent withdrawn.": N_("Consent withdrawn."),
    "Erased.": N_("Erased."),
    "Invitation created.": N_("Invitation created."),
    "{n} invitations created.": N_plural("{n} invitation created.", "{n} invitations created."),
    "Invitation sent again.": N_("Invitation sent again."),
    "Invitation revoked.": N_("Invitation revoked."),
    "Password reset link sent.": N_("Password reset link sent."),
    "Temporary password set.": N_(
        "Temporary password set. Every session and API key of the account has ended."
    ),
    "Deactivated.": N_("Deactivated."),
    "Reactivated.": N_("Reactivated."),
    "API key revoked.": N_("API key revoked."),
    "School added.": N_("School added."),
    "{n} schools imported.": N_plural("{n} school imported.", "{n} schools imported."),
    "{n} enrolments imported.": N_plural("{n} enrolment imported.", "{n} enrolments imported."),
    "Donor added.": N_("Donor added."),
}


def language(request: Request[Any, Any, Any], principal: Principal | None) -> str:
    """A page's language: the one chosen in the footer, else the signed-in user's (also
    when a refusal is shown without the principal at hand), else the browser's."""
    chosen = request.cookies.get(session.LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    if principal is not None:
        return principal.locale
    signed_in = request.scope.get("state", {}).get(LOCALE_STATE)
    if signed_in in LANGUAGES:
        return str(signed_in)
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else "vi"


def _notice(t: Translator, done: str | None, n: str) -> str | None:
    """The confirmation named by `done=` (one of DONE_MESSAGES, else none), in the reader's
    language, with its count `n=` when it has one."""
    message = DONE_MESSAGES.get(done or "")
    if message is None:
        return None
    count = int(n) if n.isdigit() and len(n) <= 9 else None
    return t.translate_count(message, count) if "{n}" in message else t(message)


def translator(request: Request[Any, Any, Any], principal: Principal | None = None) -> Translator:
    return Translator(language(request, principal))


def _language_context(t: Translator) -> dict[str, Any]:
    """What a template needs for the reader's language: `t` (also t.word, t.date, …) and
    the gettext callables jinja2.ext.i18n's `_` and `ngettext` call."""
    return {"t": t, "gettext": t, "ngettext": t.ngettext, "lang": t.lang}


def page(
    request: Request[Any, Any, Any],
    template: str,
    principal: Principal | None = None,
    *,
    status: int | None = None,
    error: DomainError | str | None = None,
    **context: Any,
) -> Response[str]:
    """Render a page. A page shown again with a refusal (`error`) answers with the refusal's
    status unless `status` says otherwise."""
    status = status or (error.status if isinstance(error, DomainError) else 200)
    t = translator(request, principal)
    fresh_csrf = session.ensure_pre_csrf(request) if principal is None else None

    notice = _notice(t, request.query_params.get("done"), request.query_params.get("n", ""))
    html = env.get_template(template).render(
        notice=notice,
        request=request,
        me=principal,
        my_school_names=request.scope.get("state", {}).get("my_school_names", {}),
        **_language_context(t),
        csrf=session.csrf_for(request),
        csrf_field=session.CSRF_FIELD,
        path=request.url.path,
        here=quote(request.url.path + ("?" + request.url.query if request.url.query else "")),
        error=error,
        **context,
    )
    response: Response[str] = Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers={
            # Pages carry personal data: never cached by a shared computer's browser.
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": (
                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
            ),
            "Referrer-Policy": "same-origin",
        },
    )
    if fresh_csrf:
        settings = request.app.state.settings
        response.set_cookie(session.cookie(request, settings, session.PRE_CSRF_COOKIE, fresh_csrf))
    return response


def fragment(
    request: Request[Any, Any, Any], template: str, principal: Principal, **context: Any
) -> Response[str]:
    """A piece of a page for the page's script to put in place (search as you type): the
    same template the page includes, in the reader's language."""
    t = translator(request, principal)
    html = env.get_template(template).render(me=principal, **_language_context(t), **context)
    return Response(html, media_type=MediaType.HTML, headers={"X-Frame-Options": "DENY"})


def _status_and_text(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, DomainError):
        return exc.status, exc.title, exc.detail
    if isinstance(exc, ValidationException):
        return 400, N_("Bad request"), foreign(str(exc.detail), litestar_message(str(exc.detail)))
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return 404, N_("Not found"), N_("There is no page at this address.")
        title = STATUS_TITLES.get(exc.status_code)
        said = str(exc.detail)
        instead = title if title == said else litestar_message(said)
        return exc.status_code, N_("Error"), foreign(said, instead)
    kind = database_error_kind(exc)
    if kind == "data":
        return 422, N_("A value is out of range"), N_("A value is too long or out of range.")
    if kind == "timeout":
        return (
            504,
            N_("Too slow"),
            N_("The database took too long; try again or narrow the request."),
        )
    if kind == "retry":
        return (
            409,
            N_("Try again"),
            N_("Another change got there first; nothing was changed. Try again."),
        )
    if kind == "unavailable":
        return (
            503,
            N_("Service temporarily unavailable"),
            N_("The database is unreachable; try again."),
        )
    return 500, N_("Something went wrong"), N_("The error was logged; quote the request id.")


def as_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # In the page's language, for its script to show (not the API's choice of language).
    lang = language(request, None)
    if isinstance(exc, DomainError):
        return handle_domain_error(request, exc, lang)
    if isinstance(exc, HTTPException):
        return handle_http_exception(request, exc, lang)
    return handle_unexpected(request, exc)


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors as pages: sign-in redirects, the rest a page in the reader's language with
    the request id. Nothing internal is shown."""
    if request.url.path.endswith(".json"):
        # The pages' own JSON endpoints (scanner loop, offline audit upload) answer errors
        # as the API does, so their script can show the reason.
        return as_problem(request, exc)
    if isinstance(exc, session.SignInRequired):
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return Redirect(f"/login?next={quote(target)}", status_code=303)
    status, title, detail = _status_and_text(exc)
    request_id = ensure_request_id(request.scope)
    if status >= 500:
        log.error("web request %s failed", request_id, exc_info=exc)
    response = page(
        request,
        "error.html",
        None,
        status=status,
        status_code=status,
        title=title,
        detail=detail,
        errors=getattr(exc, "errors", []),
        errors_not_listed=getattr(exc, "errors_not_listed", 0),
        request_id=request_id,
    )
    if isinstance(exc, DomainError) and "retry_after_seconds" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after_seconds"])
    return response

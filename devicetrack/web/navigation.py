"""Where a page sends the browser next: a role's home, a safe `next`, and the redirect after
a form that shows a short confirmation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import MediaType, Request, Response
from litestar.response import Redirect

from devicetrack.auth.principal import Principal
from devicetrack.web.render import DONE_MESSAGES


def home_of(principal: Principal) -> str:
    """The page a user lands on: navigation, not a permission (that page checks the caller
    through its services like any other)."""
    if principal.is_school_staff and principal.school_ids:
        return f"/schools/{min(principal.school_ids)}"
    if principal.is_donor:
        return "/donor"
    return "/province"


def safe_next(target: str | None) -> str | None:
    """Only paths of this site: `next` must not send a user elsewhere after sign-in. Not
    `//host` or `/\\host` (another site to a browser), and no backslash, space or control
    character anywhere: browsers drop tabs and newlines from a URL and read `\\` as `/`,
    so `/<tab>/host` would become `//host` once followed."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target)
    ):
        return target
    return None


def done_url(url: str, message: str, n: int | None = None) -> str:
    """The page to show after a form, with a short confirmation (`done`)."""
    assert message in DONE_MESSAGES, message
    joiner = "&" if "?" in url else "?"
    count = f"&n={n}" if n is not None else ""
    return f"{url}{joiner}done={quote(message)}{count}"


def done(url: str, message: str, n: int | None = None) -> Redirect:
    """Post/redirect/get with a short confirmation shown on the next page."""
    return Redirect(done_url(url, message, n), status_code=303)


class Sent(msgspec.Struct):
    """What a page's JSON twin answers the outbox (app.js): the page to show next."""

    next: str


def finished(request: Request[Any, Any, Any], url: str, message: str) -> Redirect | Response[Sent]:
    """`done` for a form, or, when the outbox sent it to the route's `.json` twin, the
    same address as JSON for its script to open."""
    if request.url.path.endswith(".json"):
        return Response(
            Sent(next=done_url(url, message)), media_type=MediaType.JSON, status_code=200
        )
    return done(url, message)

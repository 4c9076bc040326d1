"""Where a page sends the browser next: a role's home, a safe `next`, and the redirect after
a form that shows a short confirmation."""

from __future__ import annotations

from urllib.parse import quote

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


def done(url: str, message: str, n: int | None = None) -> Redirect:
    """Post/redirect/get with a short confirmation shown on the next page."""
    assert message in DONE_MESSAGES, message
    joiner = "&" if "?" in url else "?"
    count = f"&n={n}" if n is not None else ""
    return Redirect(f"{url}{joiner}done={quote(message)}{count}", status_code=303)

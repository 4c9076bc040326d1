"""Calling pages as a signed-in user: the session cookie and the form's CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from typing import Any

from tests.factories import Caller


def csrf_of(token: str) -> str:
    return hmac.new(token.encode(), b"devicetrack-csrf", hashlib.sha256).hexdigest()[:40]


def browser(caller: Caller, lang: str = "en") -> dict[str, str]:
    """Headers a signed-in browser sends: the session cookie and the chosen language."""
    return {"Cookie": f"dt_session={caller.token}; dt_lang={lang}"}


def form(caller: Caller, **values: Any) -> dict[str, Any]:
    return {"_csrf": csrf_of(caller.token)} | values


def csrf_in(html: str) -> str:
    match = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def pdf_text(content: bytes) -> str:
    """The text of a PDF the pages hand out, as a reader's search would find it."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)

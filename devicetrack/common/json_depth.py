"""Refusing JSON bodies nested deeper than a limit, for every route, before anything else.

msgspec decodes JSON recursively and raises RecursionError (not a DecodeError) somewhere
near 1,000 levels, which Litestar does not turn into a 400: a body of 1,000 brackets
answered 500, before any credential was checked. No body this API takes is more than a few
levels deep, so a middleware measures the depth of every body that may be decoded as JSON
and answers 400 problem+json beyond the limit, whatever the route, the content type the
client claims or the caller's credentials.

The measure runs at C speed: strings are cut out with one regular expression (a bracket
inside a string is text), everything but brackets is dropped with `bytes.translate`, and
each pass of `replace(b"[]", b"")` removes the innermost level. A valid body of depth d is
empty after d passes; one still shrinking after `limit` passes is deeper than the limit.
Malformed input (an unclosed bracket) stops shrinking early and is left to the decoder,
which rejects it as malformed long before its own recursion limit."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from devicetrack.errors import DomainError

# A JSON string: a quote, then anything but a quote or backslash, or any escaped character.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Keep brackets only, and make both kinds one ({} and [] nest alike).
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
# Bodies that are never decoded as JSON: forms and the spreadsheet uploads.
_NOT_JSON = (
    "multipart/form-data",
    "application/x-www-form-urlencoded",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "application/octet-stream",
)


class NestedTooDeep(DomainError):
    status, kind, title = 400, "too-deep", "The JSON body is nested too deeply"


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays/objects more than `limit` levels deep."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few brackets to reach the limit: most bodies stop here
    brackets = _STRING.sub(b"", body).translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(limit):
        shorter = brackets.replace(b"[]", b"")
        if shorter == brackets:
            return False  # empty (depth reached) or malformed: the decoder judges it
        brackets = shorter
    return b"[]" in brackets  # a level is left after `limit` passes


def json_depth_guard(max_depth: int) -> Any:
    """Litestar middleware: read a body that may be JSON once (Litestar caches it for the
    handler, and applies the route's size limit while reading) and refuse it if it nests
    deeper than `max_depth`."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH"):
                request: Request[Any, Any, Any] = Request(scope, receive, send)
                content_type = request.headers.get("content-type", "").lower()
                if not content_type.startswith(_NOT_JSON):
                    body = await request.body()
                    if nested_deeper_than(body, max_depth):
                        raise NestedTooDeep(
                            f"The body nests arrays or objects more than {max_depth} levels"
                            " deep; no request of this service needs that many."
                        )
            await app(scope, receive, send)

        return guarded

    return middleware

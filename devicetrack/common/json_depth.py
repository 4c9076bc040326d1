"""Refusing JSON bodies nested deeper than a limit, for every route.

msgspec decodes JSON recursively and raises RecursionError (not a DecodeError) somewhere
near 1,000 levels, which Litestar does not turn into a 400: a body of 1,000 brackets
answered 500, before any credential was checked. No body this API takes is more than a few
levels deep, so a middleware measures the depth of every body that may be decoded as JSON
and answers 400 problem+json beyond the limit, whatever the content type the client claims.

When: a body that fits the app's ordinary size limit (DEVICETRACK_MAX_BODY_BYTES, 1 MiB) is
read and judged before anything else, so the answer does not depend on credentials (Litestar
keeps the body for the handler). A larger one (only the upload routes allow more) is judged
as the handler reads it, chunk by chunk: an unauthenticated client cannot make the server
buffer and scan megabytes before its credentials are refused.

How: a small scanner fed chunk by chunk keeps only the running depth, never the body.
Per chunk, at C speed, escaped quotes and backslashes are cut out (they could hide a
quote), everything but quotes and brackets is dropped with `bytes.translate`, the pieces
between quotes that lie inside strings are dropped (a bracket in a string is text), and the
brackets left are summed (+1 / -1) with `itertools.accumulate`: O(chunk), no rescans, no
regular expression. A 64 MB upload costs a few milliseconds per chunk, never one long stall
at the end. An unmatched closer makes the depth negative: the decoder stops there anyway."""

from __future__ import annotations

from itertools import accumulate
from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from devicetrack.errors import DomainError
from devicetrack.i18n import N_

_NOT_QUOTES_OR_BRACKETS = bytes(c for c in range(256) if c not in b'"[]{}')
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
    status, kind, title = 400, "too-deep", N_("The JSON body is nested too deeply")


# +1 for an opener, -1 for a closer; both kinds nest alike.
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}.__getitem__


class DepthScanner:
    """The deepest nesting of a JSON text fed in chunks, outside strings; keeps a few
    counters, not the text."""

    def __init__(self) -> None:
        self.depth = 0  # open brackets at the end of what was fed
        self.deepest = 0
        self._inside = False  # within a string at the end of the last chunk
        self._carry = b""  # a backslash that ended the last chunk, escaping the next byte

    def feed(self, chunk: bytes) -> None:
        chunk, self._carry = self._carry + chunk, b""
        if b"\\" in chunk:
            # Escaped backslashes first (\\" is one, then a closing quote), then escaped
            # quotes; other escapes hold neither. A backslash left at the end escapes the
            # first byte of the next chunk.
            chunk = chunk.replace(b"\\\\", b"").replace(b'\\"', b"")
            if chunk.endswith(b"\\"):
                chunk, self._carry = chunk[:-1], b"\\"
        # Quotes and brackets only. Two quotes in a row go (an empty string, or the end of
        # one string and the start of the next): that changes no other byte's side of the
        # quotes, and most strings hold no bracket, so few quotes remain to split at.
        kept = chunk.translate(None, _NOT_QUOTES_OR_BRACKETS).replace(b'""', b"")
        pieces = kept.split(b'"')
        brackets = b"".join(pieces[1::2] if self._inside else pieces[::2])
        if len(pieces) % 2 == 0:  # an odd number of quotes
            self._inside = not self._inside
        if not brackets:
            return
        openers = brackets.count(b"[") + brackets.count(b"{")
        if self.depth + openers > self.deepest:  # else it cannot go deeper than before
            running = accumulate(map(_STEP, brackets), initial=self.depth)
            self.deepest = max(self.deepest, max(running))
        self.depth += 2 * openers - len(brackets)

    def deeper_than(self, limit: int) -> bool:
        return self.deepest > limit


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays/objects more than `limit` levels deep."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few brackets to reach the limit: most bodies stop here
    scanner = DepthScanner()
    scanner.feed(body)
    return scanner.deeper_than(limit)


# Bodies with more brackets than this are judged in a worker thread: a megabyte of nothing
# but brackets costs the scanner about 0.4 s, which must not hold the event loop (and can
# come before sign-in). Ordinary bodies have a handful and are judged at once.
_BRACKETS_JUDGED_INLINE = 4096


async def _judged(body: bytes, limit: int) -> bool:
    brackets = body.count(b"[") + body.count(b"{")
    if brackets <= limit:
        return False
    if brackets <= _BRACKETS_JUDGED_INLINE:
        return nested_deeper_than(body, limit)
    return await anyio.to_thread.run_sync(nested_deeper_than, body, limit)


def _refusal(limit: int) -> NestedTooDeep:
    return NestedTooDeep(
        N_(
            "The body nests arrays or objects more than {limit} levels deep; no request of"
            " this service needs that many."
        ),
        limit=limit,
    )


def _judged_as_read(receive: Receive, limit: int) -> Receive:
    """`receive` that scans the body as it passes (each chunk once, keeping counters only)
    and refuses it at its last chunk."""
    scanner = DepthScanner()

    async def checking() -> ReceiveMessage:
        message = await receive()
        if message["type"] == "http.request":
            scanner.feed(message.get("body", b""))
            if not message.get("more_body", False) and scanner.deeper_than(limit):
                raise _refusal(limit)
        return message

    return checking


def json_depth_guard(max_depth: int, eager_bytes: int) -> Any:
    """Litestar middleware refusing JSON bodies nested deeper than `max_depth`: judged
    before anything else up to `eager_bytes`, as the handler reads them beyond."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == ScopeType.HTTP and scope.get("method") in ("POST", "PUT", "PATCH"):
                request: Request[Any, Any, Any] = Request(scope, receive, send)
                content_type = request.headers.get("content-type", "").lower()
                if not content_type.startswith(_NOT_JSON):
                    length = request.content_length
                    if length is not None and length <= eager_bytes:
                        # Read once under the route's own size limit; the handler gets the
                        # same bytes from the request's state.
                        body = await request.body()
                        if await _judged(body, max_depth):
                            raise _refusal(max_depth)
                    else:
                        receive = _judged_as_read(receive, max_depth)
            await app(scope, receive, send)

        return guarded

    return middleware

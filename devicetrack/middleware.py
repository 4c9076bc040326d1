"""A request id on every response (matched route or not), so a logged error can be found
from what the client saw."""

from __future__ import annotations

import secrets
from typing import Any

from litestar.types import Message, Scope

HEADER = b"x-request-id"


def ensure_request_id(scope: Scope | dict[str, Any]) -> str:
    state = scope.setdefault("state", {})
    request_id = state.get("request_id")
    if request_id is None:
        incoming = dict(scope.get("headers", [])).get(HEADER, b"").decode("latin-1")
        # Keep a caller's id only if it is short and plain, else make one.
        ok = incoming.isalnum() and len(incoming) <= 64
        request_id = state["request_id"] = incoming if ok else secrets.token_hex(8)
    return str(request_id)


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """A before_send hook: runs for every response, including unmatched routes."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", []))
        headers.append((HEADER, ensure_request_id(scope).encode()))
        message["headers"] = headers


NOT_STORED = (b"cache-control", b"no-store")


async def no_store(message: Message, scope: Scope) -> None:
    """A before_send hook: every answer but the static files is `Cache-Control: no-store`
    unless its handler chose otherwise. Nearly every answer is someone's scoped view (a
    student's name, a loan, a user's email, a token, an error echoing what was sent), and a
    school's computer is shared: its browser must not keep them on disk. Deciding this per
    route would miss the next route added; nothing here gains from caching (the static
    files keep their own rule)."""
    if message["type"] != "http.response.start" or scope.get("path", "").startswith("/static/"):
        return
    headers = list(message.get("headers", []))
    if not any(name.lower() == b"cache-control" for name, _ in headers):
        headers.append(NOT_STORED)
        message["headers"] = headers

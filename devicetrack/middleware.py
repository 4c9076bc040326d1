"""A request id on every request and response, so a logged error can be found from what
the client saw."""

from __future__ import annotations

import secrets

from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        # Accept a caller's id only if it is short and plain, else make one.
        request_id = (
            incoming if incoming.isalnum() and len(incoming) <= 64 else secrets.token_hex(8)
        )
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((HEADER, request_id.encode()))
                message["headers"] = headers  # type: ignore[typeddict-unknown-key]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware

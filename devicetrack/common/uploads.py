"""Reading an uploaded table: multipart `file=@x.csv`, or the raw CSV/XLSX as the body."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from devicetrack.common.workers import release_memory
from devicetrack.errors import FieldError, PayloadTooLarge, ValidationFailed
from devicetrack.i18n import N_, Message


def _too_large(limit: int) -> PayloadTooLarge:
    mib = limit / (1024 * 1024)
    return PayloadTooLarge(
        N_("The upload is larger than {mib:g} MiB."),
        errors=[FieldError(field="file", message=Message(N_("larger than {mib:g} MiB"), mib=mib))],
        mib=mib,
        extra={"limit": "max_upload_bytes", "max": limit},
    )


def limit_upload_body(app: ASGIApp) -> ASGIApp:
    """Middleware of the upload routes (which set `request_max_body_size=None`): the body
    may be at most `Settings.max_upload_bytes`, counted as it arrives, so the limit comes
    from the settings and a larger body is refused before it is all read."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        limit: int = scope["app"].state.settings.max_upload_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise _too_large(limit)
        seen = 0

        async def receive_at_most() -> ReceiveMessage:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        await app(scope, receive_at_most, send)

    return limited


async def after_upload(request: Request[Any, Any, Any]) -> None:
    """`after_response` of the upload routes: once the answer is sent and the request's
    rows are freed, give the freed heap back to the system (see workers.release_memory)."""
    await release_memory()


async def read_upload(request: Request[Any, Any, Any]) -> tuple[bytes, str | None]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                N_("Send the table as the multipart field `file`."),
                errors=[FieldError(field="file", message=N_("missing"))],
            )
        return await upload.read(), upload.filename
    body = await request.body()
    if not body:
        raise ValidationFailed(
            N_("The request has no file."),
            errors=[FieldError(field="file", message=N_("empty body"))],
        )
    name = "upload.xlsx" if "spreadsheetml" in content_type else "upload.csv"
    return body, name

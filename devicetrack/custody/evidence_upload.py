"""An evidence upload: multipart field `file` (the image) and the fields of EvidenceFields
(`kind`, `signer`) beside it."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile

from devicetrack.custody.evidence import Download, fields_of
from devicetrack.errors import FieldError, ValidationFailed
from devicetrack.evidence.limits import MAX_BYTES
from devicetrack.evidence.schemas import EvidenceFields
from devicetrack.i18n import N_

# The multipart body around one image: its headers and the other fields.
BODY_BYTES = MAX_BYTES * 2 + 64 * 1024
A_YEAR = 365 * 24 * 3600


async def read_evidence(request: Request[Any, Any, Any]) -> tuple[bytes, EvidenceFields]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationFailed(
            N_("Send the signature or photo as the multipart field `file`."),
            errors=[FieldError(field="file", message=N_("missing"))],
        )
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed(
            N_("Send the signature or photo as the multipart field `file`."),
            errors=[FieldError(field="file", message=N_("missing"))],
        )
    values = {k: form.get(k) for k in form if k != "file"}
    return await upload.read(), fields_of(values)


def evidence_response(download: Download) -> Response[bytes]:
    """The image as a download: an attachment of its own type, `nosniff` (a browser never
    guesses HTML), a CSP under which nothing runs. Evidence never changes once stored: the
    caller's browser keeps it (never a shared cache: `private`) and does not ask again
    (`immutable`); one that asks with its ETag gets 304 and no bytes. Signing out of the
    pages clears the browser's cache (Clear-Site-Data), so a school's shared computer does
    not keep them for the next user."""
    read = download.read
    headers = {
        "ETag": download.etag,
        "Cache-Control": f"private, max-age={A_YEAR}, immutable",
    }
    if download.data is None:
        return Response(b"", status_code=304, media_type=read.media_type, headers=headers)
    extension = "png" if read.media_type == "image/png" else "jpg"
    return Response(
        download.data,
        media_type=read.media_type,
        headers={
            **headers,
            "Content-Disposition": f'attachment; filename="evidence-{read.id}.{extension}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )

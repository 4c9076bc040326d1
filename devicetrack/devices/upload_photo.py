"""The photo of a scan request: multipart field `file` (a page's `<input type=file>`), or
the image itself as the body."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile

from devicetrack.errors import FieldError, ValidationFailed
from devicetrack.i18n import N_


async def read_photo(request: Request[Any, Any, Any]) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                N_("Send the photo as the multipart field `file`."),
                errors=[FieldError(field="file", message=N_("missing"))],
            )
        data = await upload.read()
    else:
        data = await request.body()
    if not data:
        raise ValidationFailed(
            N_("The request has no photo."), errors=[FieldError(field="file", message=N_("empty"))]
        )
    return data

"""Reading an uploaded table: multipart `file=@x.csv`, or the raw CSV/XLSX as the body."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile

from devicetrack.errors import FieldError, ValidationFailed


async def read_upload(request: Request[Any, Any, Any]) -> tuple[bytes, str | None]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                "Send the table as the multipart field `file`.",
                errors=[FieldError(field="file", message="missing")],
            )
        return await upload.read(), upload.filename
    body = await request.body()
    if not body:
        raise ValidationFailed(
            "The request has no file.", errors=[FieldError(field="file", message="empty body")]
        )
    name = "upload.xlsx" if "spreadsheetml" in content_type else "upload.csv"
    return body, name

"""The label sheet as an HTTP answer, shared by the API (labels/controllers.py) and the
donor's page (web/pages_donor.py)."""

from __future__ import annotations

import os
from typing import Any

from litestar import Request
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.heavy import heavy_work
from devicetrack.common.spreadsheet import send_file
from devicetrack.config import Settings
from devicetrack.labels import service
from devicetrack.labels.schemas import LabelSheetRequest


async def sheet_response(
    request: Request[Any, Any, Any],
    tx: AsyncSession,
    principal: Principal,
    data: LabelSheetRequest,
    filename: str,
) -> Stream:
    """Check everything, then render in one of the process's heavy-work slots (429 when
    they are all busy), then send the finished file."""
    settings: Settings = request.app.state.settings
    labels = await service.sheet_labels(
        tx, principal, data, settings.max_labels_per_request, settings.public_url
    )
    service.check_options(data.template, data.skip, data.copies, labels)
    handle = await service.pdf_file(
        heavy_work(request), labels, data.template, data.skip, data.copies
    )
    return Stream(
        send_file(handle),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Content-Length": str(os.fstat(handle.fileno()).st_size),
        },
    )

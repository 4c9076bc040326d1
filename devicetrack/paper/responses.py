"""A printed record as an HTTP answer, shared by the API (paper/controllers.py) and the
pages (web/pages_paper.py): drawn in a worker process, in one of the heavy-work slots
(429 when they are all busy), then sent as a file."""

from __future__ import annotations

import os
from typing import Any

from litestar import Request
from litestar.response import Stream

from devicetrack.common.heavy import heavy_work
from devicetrack.common.spreadsheet import send_file
from devicetrack.paper import render
from devicetrack.paper.document import Document


async def pdf_response(
    request: Request[Any, Any, Any], document: Document, filename: str
) -> Stream:
    handle = await heavy_work(request).file(".pdf", render.render_file, document)
    return Stream(
        send_file(handle),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Content-Length": str(os.fstat(handle.fileno()).st_size),
        },
    )

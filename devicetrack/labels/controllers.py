from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.config import Settings
from devicetrack.labels import render, service
from devicetrack.labels.responses import sheet_response
from devicetrack.labels.schemas import LabelSheetRequest


class DeviceLabelController(Controller):
    path = "/devices/{asset_tag:str}"
    tags = ["labels"]

    @get("/label.svg", operation_id="deviceLabelSvg", media_type="image/svg+xml")
    async def svg(
        self, tx: AsyncSession, principal: Principal, settings: Settings, asset_tag: str
    ) -> Response[Any]:
        """One 50 × 25 mm label as SVG: Code 128, the QR of the device's link, the tag,
        programme, donor and kind."""
        data = await service.device_label(tx, principal, asset_tag, settings.public_url)
        try:
            body = render.label_svg(data)
        except render.LabelError as exc:
            raise service.refuse(exc) from None
        return Response(body, media_type="image/svg+xml")

    @get("/label.png", operation_id="deviceLabelPng", media_type="image/png")
    async def png(
        self,
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        asset_tag: str,
        dpi: Annotated[int, Parameter(ge=72, le=1200)] = 300,
    ) -> Response[Any]:
        data = await service.device_label(tx, principal, asset_tag, settings.public_url)
        body = await asyncio.to_thread(render.label_png, data, dpi)
        return Response(body, media_type="image/png")


class LabelSheetController(Controller):
    path = "/labels"
    tags = ["labels"]

    @post("/", operation_id="labelSheet", status_code=200, media_type="application/pdf")
    async def sheet(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        data: LabelSheetRequest,
    ) -> Stream:
        """A PDF sheet of labels in a template (`avery-l7651`, `a4-3x8`, `thermal-50x25`),
        for asset tags, a filter, or a reserved label batch; `skip` starts at a position of
        a partly used sheet, `copies` repeats each label. At most 20,000 labels (devices ×
        copies; `DEVICETRACK_MAX_LABELS`) per sheet: 413 beyond."""
        return await sheet_response(request, tx, principal, data, "labels.pdf")

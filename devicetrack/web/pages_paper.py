"""The printed records from the pages (the same service and drawing as the API's
paper/controllers.py): Vietnamese unless `?lang=en`, whatever the page's language, as
they are signed at Vietnamese schools."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Locale
from devicetrack.config import Settings
from devicetrack.paper import service
from devicetrack.paper.responses import pdf_response
from devicetrack.privacy.service import route_of
from devicetrack.web.i18n import Translator


class PaperPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/allocations/{allocation_id:int}/handover.pdf")
    async def handover(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        allocation_id: int,
        lang: Locale = Locale.VI,
    ) -> Stream:
        document = await service.handover(
            tx, principal, allocation_id, Translator(lang), settings.public_url
        )
        return await pdf_response(request, document, f"handover-{allocation_id}.pdf")

    @get("/assignments/{assignment_id:int}/agreement.pdf")
    async def agreement(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        assignment_id: int,
        lang: Locale = Locale.VI,
    ) -> Stream:
        document = await service.agreement(
            tx, principal, assignment_id, Translator(lang), settings.public_url, route_of(request)
        )
        return await pdf_response(request, document, f"agreement-{assignment_id}.pdf")

    @get("/schools/{school_id:int}/loan-sheet.pdf")
    async def loan_sheet(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        school_id: int,
        class_name: str | None = None,
        lang: Locale = Locale.VI,
    ) -> Stream:
        document = await service.loan_sheet(
            tx,
            principal,
            school_id,
            (class_name or "").strip()[:20] or None,
            Translator(lang),
            settings.public_url,
            route_of(request),
        )
        return await pdf_response(request, document, f"loan-sheet-{school_id}.pdf")

    @get("/devices/{tag:str}/retirement.pdf")
    async def retirement(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        tag: str,
        lang: Locale = Locale.VI,
    ) -> Stream:
        document = await service.retirement(
            tx, principal, tag, Translator(lang), settings.public_url
        )
        return await pdf_response(request, document, "retirement.pdf")

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Locale
from devicetrack.common import spreadsheet
from devicetrack.common.heavy import heavy_work
from devicetrack.imports import service

_DESCRIPTION = (
    "The import's columns headed in `lang` (default: the caller's language), an example row "
    "that imports as it is, and a second sheet of the words each listed column takes "
    "(Vietnamese or English, with or without diacritics, as the import reads them). For the "
    "roles that may use the import."
)


class TemplateController(Controller):
    """One route per import (a file name is not an object of anyone's scope)."""

    path = "/templates"
    tags = ["imports"]

    @get("/devices.xlsx", operation_id="getDevicesTemplate", description=_DESCRIPTION)
    async def devices(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        lang: Locale | None = None,
    ) -> Stream:
        return await _template(request, tx, principal, "devices", lang)

    @get("/students.xlsx", operation_id="getStudentsTemplate", description=_DESCRIPTION)
    async def students(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        lang: Locale | None = None,
    ) -> Stream:
        return await _template(request, tx, principal, "students", lang)

    @get("/schools.xlsx", operation_id="getSchoolsTemplate", description=_DESCRIPTION)
    async def schools(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        lang: Locale | None = None,
    ) -> Stream:
        return await _template(request, tx, principal, "schools", lang)

    @get("/enrolments.xlsx", operation_id="getEnrolmentsTemplate", description=_DESCRIPTION)
    async def enrolments(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        lang: Locale | None = None,
    ) -> Stream:
        return await _template(request, tx, principal, "enrolments", lang)


async def _template(
    request: Request[Any, Any, Any],
    tx: AsyncSession,
    principal: Principal,
    name: str,
    lang: Locale | None,
) -> Stream:
    """The workbook, written by a worker process (as every XLSX is: common/spreadsheet.py)."""
    reader = lang or (Locale.EN if principal.locale == Locale.EN else Locale.VI)
    sheets = await service.template_sheets(tx, principal, name, reader)
    handle = await spreadsheet.xlsx_book(heavy_work(request), sheets)
    return spreadsheet.download(handle, f"{name}-{reader}.xlsx", spreadsheet.XLSX)

"""The end-of-year collection page of a school: scan device after device (a USB scanner
types the tag and Enter; the form works without script), each closing its loan in the
condition chosen ("as lent" by default) and wiped or not; the running list of who still
holds a device, class by class; the same list as Excel. custody/collection.py holds the
rules (the school's staff and admins only)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.heavy import heavy_work
from devicetrack.common.spreadsheet import XLSX, download
from devicetrack.custody import collection
from devicetrack.custody.schemas import Collected, CollectScan, Outstanding
from devicetrack.devices.values import Condition
from devicetrack.errors import DomainError
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.web.forms import Form, attempt
from devicetrack.web.render import page, translator


class CollectPages(Controller):
    path = "/schools/{school_id:int}/collect"
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        *,
        last: Collected | None = None,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        found: Outstanding = await collection.outstanding(tx, principal, school_id)
        shown = [loan for klass in found.classes for loan in klass.loans]
        await privacy.record_reads(tx, principal, privacy.route_of(request), shown)
        return page(
            request,
            "collect.html",
            principal,
            school=await schools.get_school(tx, principal, school_id),
            outstanding=found,
            last=last,
            error=error,
            values=values or {},
            conditions=Condition,
        )

    @get("/")
    async def collect_form(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        return await self._page(request, tx, principal, school_id)

    @post("/")
    async def collect(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        """One scan: the loan closed (and who had it shown), or why not; the form keeps the
        condition and wiped chosen for the next device."""
        form = await Form.of(request)
        condition = form.values.get("condition")
        # "as lent" (or nothing chosen): the condition the device was lent in.
        as_lent: dict[str, Any] = (
            {"condition_in": None} if condition in (None, "", "as_lent") else {}
        )
        data = form.into(
            CollectScan, renamed={"condition": "condition_in"}, wiped=form.flag("wiped"), **as_lent
        )
        result: Any = form.refusal()
        if data is not None:
            result = await attempt(tx, lambda: collection.collect(tx, principal, school_id, data))
        kept = {"condition": condition or "as_lent", "wiped": form.flag("wiped")}
        if isinstance(result, DomainError):
            return await self._page(
                request, tx, principal, school_id, error=result, values=kept | {"code": ""}
            )
        return await self._page(request, tx, principal, school_id, last=result, values=kept)

    @get("/outstanding.xlsx")
    async def outstanding_xlsx(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Stream:
        found = await collection.outstanding(tx, principal, school_id)
        shown = [loan for klass in found.classes for loan in klass.loans]
        await privacy.record_reads(tx, principal, privacy.route_of(request), shown)
        t = translator(request, principal)
        handle = await collection.outstanding_xlsx(heavy_work(request), found, t, t.word)
        return download(handle, f"school-{school_id}-still-out.xlsx", XLSX)

"""A school's own pages: its devices (filters, Excel) and receiving an allocation, tag after
tag. Scope comes from the services: a school the caller cannot see answers 404, exactly as
in the API."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.allocations import service as allocations
from devicetrack.allocations.schemas import ReceiptCreate, ReceiptResult
from devicetrack.auth.principal import Principal
from devicetrack.common.heavy import heavy_work
from devicetrack.common.lag_tolerant import LAG_TOLERANT
from devicetrack.common.spreadsheet import XLSX, download
from devicetrack.devices import service as devices
from devicetrack.devices.values import Condition, DeviceKind, DeviceStatus
from devicetrack.donations import export as donations_export
from devicetrack.errors import DomainError
from devicetrack.schools import service as schools
from devicetrack.students import service as students
from devicetrack.web.excel import DeviceRow
from devicetrack.web.forms import E, Form, attempt, scanned_codes
from devicetrack.web.keyed import KEYED
from devicetrack.web.pages_evidence import receive_context
from devicetrack.web.render import page, translator

PAGE_SIZE = 100


def _pick(value: str | None, allowed: type[E]) -> E | None:
    """A filter from the query string: one of the list, or no filter."""
    if value is None:
        return None
    try:
        return allowed(value)
    except ValueError:
        return None


class SchoolPages(Controller):
    path = "/schools/{school_id:int}"
    include_in_schema = False

    @get("/")
    async def school(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        status: str | None = None,
        kind: str | None = None,
        condition: str | None = None,
        q: str | None = None,
        after: int | None = None,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        filters = {
            "status": _pick(status, DeviceStatus),
            "kind": _pick(kind, DeviceKind),
            "condition": _pick(condition, Condition),
        }
        where = devices.device_filters(
            principal,
            school=school_id,
            q=(q or "").strip()[:60] or None,
            status=filters["status"],
            kind=filters["kind"],
            condition=filters["condition"],
        )
        rows = await devices.list_devices(tx, principal, where, after_id=after, limit=PAGE_SIZE + 1)
        more = rows[PAGE_SIZE].id if len(rows) > PAGE_SIZE else None
        counts = await devices.status_counts(tx, school_id)
        return page(
            request,
            "school.html",
            principal,
            school=school,
            devices=rows[:PAGE_SIZE],
            more=more,
            filters=filters,
            q=q or "",
            kinds=DeviceKind,
            statuses=DeviceStatus,
            conditions=Condition,
            counts=counts,
            borrowing=await students.students_borrowing(tx, school_id),
        )

    @get("/devices.xlsx", opt=LAG_TOLERANT)
    async def export(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        db_engine: AsyncEngine,
        school_id: int,
    ) -> Stream:
        """The school's devices for a person: headers and codes in the reader's language,
        times on Vietnam's clock (the API's export keeps field names and stored codes)."""
        await schools.get_school(tx, principal, school_id)
        where = devices.device_filters(principal, school=school_id)
        t = translator(request, principal)
        handle = await donations_export.devices_xlsx_named(
            heavy_work(request), db_engine, principal, where, heading=t.field, prepare=DeviceRow(t)
        )
        return download(handle, f"school-{school_id}-devices.xlsx", XLSX)

    # ---- receiving an allocation --------------------------------------------------

    @get("/receive")
    async def receive_form(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        waiting = await allocations.awaiting_receipt(tx, principal, school_id)
        return page(
            request,
            "receive.html",
            principal,
            school=school,
            waiting=waiting,
            result=None,
            **await receive_context(tx, principal, school_id),
        )

    @post("/receive")
    async def receive(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        """Without JavaScript: all the scanned tags at once, one per line."""
        school = await schools.get_school(tx, principal, school_id)
        form = await Form.of(request)
        tags = scanned_codes(form.text("tags", required=True, max_length=200_000))
        if not tags:
            form.check()
        result = await attempt(
            tx,
            lambda: allocations.receive(tx, principal, school_id, ReceiptCreate(asset_tags=tags)),
        )
        waiting = await allocations.awaiting_receipt(tx, principal, school_id)
        if isinstance(result, DomainError):
            return page(
                request,
                "receive.html",
                principal,
                error=result,
                school=school,
                waiting=waiting,
                result=None,
                **await receive_context(tx, principal, school_id),
            )
        return page(
            request,
            "receive.html",
            principal,
            school=school,
            waiting=waiting,
            result=result,
            **await receive_context(tx, principal, school_id),
        )

    @post("/receive.json", status_code=200, opt=KEYED)
    async def receive_one(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        data: ReceiptCreate,
    ) -> ReceiptResult:
        """The page's scanner loop: the box's lines at each Enter, so the count runs as tags
        are scanned; each line is read like the form's box (scanned_codes), so every tag in
        it is received or comes back as a discrepancy. Reasons come back in the reader's
        language (the script shows them as they are)."""
        tags = scanned_codes("\n".join(data.asset_tags))
        result = await allocations.receive(
            tx, principal, school_id, ReceiptCreate(asset_tags=tags, note=data.note)
        )
        t = translator(request, principal)
        for item in result.discrepancies:
            item.reason = t(item.reason)
        return result

"""Audit mode: a school's audits, starting one, and scanning — one code per form without
JavaScript, or the browser's offline queue uploaded as a batch — then closing it."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.audits import service as audits
from devicetrack.audits.schemas import AuditCreate, ScanBatch, ScanResult
from devicetrack.auth.principal import Principal
from devicetrack.devices.values import Condition
from devicetrack.errors import DomainError
from devicetrack.schools import service as schools
from devicetrack.web.forms import Form, attempt
from devicetrack.web.keyed import KEYED
from devicetrack.web.render import page, translator


class SchoolAuditPages(Controller):
    path = "/schools/{school_id:int}"
    include_in_schema = False

    @get("/audits")
    async def audits_list(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        rows = await audits.list_audits(
            tx, principal, school_id=school_id, open_=None, after_id=None, limit=200
        )
        return page(request, "audits.html", principal, school=school, audits=list(reversed(rows)))

    @post("/audits")
    async def start_audit(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        form = await Form.of(request)
        data = form.into(
            AuditCreate, school_id=school_id, include_assigned=not form.flag("exclude_assigned")
        )
        form.check()
        assert data is not None  # form.check() refused the form otherwise
        audit = await audits.start(tx, principal, data)
        return Redirect(f"/audits/{audit.id}", status_code=303)


class AuditPages(Controller):
    path = "/audits/{audit_id:int}"
    include_in_schema = False

    @get("/")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        audit_id: int,
        last: str | None = None,
    ) -> Response[Any]:
        return await self._audit_page(request, tx, principal, audit_id, last=last)

    async def _audit_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        audit_id: int,
        *,
        last: str | None = None,
        error: DomainError | None = None,
        preview: Any = None,
    ) -> Response[Any]:
        """The audit: while open, the scanner and what is still expected (or, `preview`,
        what closing would record, to confirm); once closed, its result."""
        audit = await audits.read(tx, principal, audit_id)
        school = await schools.get_school(tx, principal, audit.school_id)
        pending = None if audit.closed_at else await audits.still_expected(tx, principal, audit_id)
        return page(
            request,
            "audit.html",
            principal,
            audit=audit,
            school=school,
            last=last,
            conditions=Condition,
            error=error,
            pending=pending,
            preview=preview,
        )

    @post("/scan")
    async def scan_one(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, audit_id: int
    ) -> Response[Any]:
        """Without JavaScript: one code per submit, the page comes back ready for the next."""
        form = await Form.of(request)
        code = form.text("code", required=True, max_length=60)
        condition = form.choice("condition", Condition)  # read before the check, not after
        form.check()
        result = await audits.scan(
            tx, principal, audit_id, ScanBatch(code=code, condition=condition)
        )
        outcome = "rejected" if result.rejected else "unexpected" if result.unexpected else "ok"
        return Redirect(f"/audits/{audit_id}?last={outcome}", status_code=303)

    @post("/scans.json", status_code=200, request_max_body_size=8 * 1024 * 1024, opt=KEYED)
    async def scans(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        audit_id: int,
        data: ScanBatch,
    ) -> ScanResult:
        """The offline queue's upload: the same batch body as the API."""
        result = await audits.scan(tx, principal, audit_id, data)
        t = translator(request, principal)
        for item in result.rejected:
            item.message = t(item.message)
        for entry in result.entries:
            entry.message = t(entry.message) if entry.message else None
        return result

    @post("/close")
    async def close(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, audit_id: int
    ) -> Response[Any]:
        """Asks first: without `confirm`, the page shows what closing would record (the
        devices it marks missing, the lent ones) and a button that confirms."""
        form = await Form.of(request)
        if not form.flag("confirm"):
            preview = await attempt(tx, lambda: audits.preview_close(tx, principal, audit_id))
            if isinstance(preview, DomainError):
                return await self._audit_page(request, tx, principal, audit_id, error=preview)
            return await self._audit_page(request, tx, principal, audit_id, preview=preview)
        result = await attempt(tx, lambda: audits.close(tx, principal, audit_id))
        if isinstance(result, DomainError):
            return await self._audit_page(request, tx, principal, audit_id, error=result)
        return Redirect(f"/audits/{audit_id}", status_code=303)

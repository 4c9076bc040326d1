from __future__ import annotations

import asyncio
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.audits import service
from devicetrack.audits.pdf import Words, audit_pdf
from devicetrack.audits.schemas import (
    AuditCreate,
    AuditPage,
    AuditRead,
    ConditionHistory,
    MarkLostResult,
    ScanBatch,
    ScanResult,
)
from devicetrack.auth.principal import Principal
from devicetrack.common import spreadsheet
from devicetrack.common.heavy import heavy_work
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.devices.values import DeviceStatus
from devicetrack.schools import service as schools


def audit_csv(audit: AuditRead) -> bytes:
    """The audit as the school's records keep it; codes a scanner read are the scanner's
    text, so they pass the export's formula rule like every other cell."""
    rows: list[list[object]] = []
    if audit.result is None:
        rows.append(["open", "", "", "", f"{audit.found} of {audit.expected} found so far"])
    else:
        for f in audit.result.found:
            rows.append(["found", f.asset_tag, f.kind, f.condition, f.scanned_at])
        for m in audit.result.missing:
            rows.append(["missing", m.asset_tag, m.kind, m.status, m.student_code])
        for loan in audit.result.on_loan:
            # Not missing: at home with a student (named only to those who may see it).
            due = f"due {loan.due_back_on.isoformat()}" if loan.due_back_on else ""
            detail = " ".join(p for p in (loan.student_code, due) if p)
            rows.append(["on_loan", loan.asset_tag, loan.kind, DeviceStatus.ASSIGNED, detail])
        for u in audit.result.unexpected:
            rows.append(
                [
                    "unexpected",
                    u.code,
                    u.kind,
                    u.status,
                    f"{u.reason} {u.held_by_school_name or ''}".strip(),
                ]
            )
    header = ["result", "asset_tag_or_code", "kind", "condition_or_status", "detail"]
    return spreadsheet.csv_bytes(header, rows)


class AuditController(Controller):
    path = "/audits"
    tags = ["audits"]

    @post("/", operation_id="startAudit")
    async def start(self, tx: AsyncSession, principal: Principal, data: AuditCreate) -> AuditRead:
        """Start a stocktake; the expected set (devices at the school, and assigned ones
        when include_assigned) is frozen now."""
        return await service.start(tx, principal, data)

    @get("/", operation_id="listAudits")
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        school: int | None = None,
        open: bool | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AuditPage:
        rows = await service.list_audits(
            tx,
            principal,
            school_id=school,
            open_=open,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_of(rows, limit)
        return AuditPage(items=items, next_cursor=next_cursor)

    @get("/{audit_id:int}", operation_id="getAudit")
    async def get_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        audit_id: int,
        vietnamese_words: Words,
        format: Literal["json", "csv", "pdf"] = "json",
    ) -> AuditRead | Response[Any]:
        """Progress while open, the frozen result when closed; `format=csv` or `pdf` for
        the school's records."""
        audit = await service.read(tx, principal, audit_id)
        if format == "csv":
            return Response(
                audit_csv(audit),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="audit-{audit_id}.csv"'},
            )
        if format == "pdf":
            school = await schools.get_school(tx, principal, audit.school_id)
            # A record for a Vietnamese school: codes as Vietnamese words. Laid out in a
            # thread within a heavy-work slot: a school's audit may list thousands of devices.
            async with heavy_work(request).slot():
                body = await asyncio.to_thread(audit_pdf, audit, school.name, word=vietnamese_words)
            return Response(
                body,
                media_type="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="audit-{audit_id}.pdf"'},
            )
        return audit

    @post(
        "/{audit_id:int}/scans",
        operation_id="addScans",
        status_code=200,
        request_max_body_size=8 * 1024 * 1024,
    )
    async def scans(
        self, tx: AsyncSession, principal: Principal, audit_id: int, data: ScanBatch
    ) -> ScanResult:
        return await service.scan(tx, principal, audit_id, data)

    @post("/{audit_id:int}/close", operation_id="closeAudit", status_code=200)
    async def close(self, tx: AsyncSession, principal: Principal, audit_id: int) -> AuditRead:
        return await service.close(tx, principal, audit_id)

    @post("/{audit_id:int}/mark-missing-lost", operation_id="markMissingLost", status_code=200)
    async def mark_missing_lost(
        self, tx: AsyncSession, principal: Principal, audit_id: int
    ) -> MarkLostResult:
        """Turn the audit's missing devices into `lost` (explicitly; never automatic)."""
        return await service.mark_missing_lost(tx, principal, audit_id)


class ConditionHistoryController(Controller):
    path = "/schools/{school_id:int}/condition-history"
    tags = ["audits"]

    @get("/", operation_id="conditionHistory")
    async def history(
        self, tx: AsyncSession, principal: Principal, school_id: int
    ) -> ConditionHistory:
        return await service.condition_history(tx, principal, school_id)

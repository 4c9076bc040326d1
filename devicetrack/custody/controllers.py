"""A device's actions and history (custody/service.py says why they live here)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.heavy import heavy_work
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.common.spreadsheet import XLSX, download
from devicetrack.custody import collection, evidence, service
from devicetrack.custody.evidence_upload import BODY_BYTES, evidence_response, read_evidence
from devicetrack.custody.schemas import Collected, CollectScan, Outstanding
from devicetrack.devices.schemas import ActionBody, ActionResult, EventPage
from devicetrack.errors import reader_language
from devicetrack.evidence.schemas import EvidencePage, EvidenceRead
from devicetrack.i18n import translate
from devicetrack.students import access_log as privacy


class DeviceCustodyController(Controller):
    path = "/devices"
    tags = ["devices"]

    @get("/{asset_tag:str}/events", operation_id="listDeviceEvents")
    async def events(
        self,
        tx: AsyncSession,
        principal: Principal,
        asset_tag: str,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> EventPage:
        rows = await service.list_events(
            tx, principal, asset_tag, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return EventPage(items=items, next_cursor=next_cursor)

    @post("/{asset_tag:str}/actions/{action:str}", operation_id="deviceAction", status_code=200)
    async def action(
        self,
        tx: AsyncSession,
        principal: Principal,
        asset_tag: str,
        action: str,
        data: ActionBody | None = None,
    ) -> ActionResult:
        return await service.perform(tx, principal, asset_tag, action, data or ActionBody())


class EvidenceController(Controller):
    """Signatures and photos of signed paper kept with a loan, a consent or an allocation's
    handover (custody/evidence.py says who may add and read them: those who may read the
    record; a loan's or consent's names a student, so the school's staff and admins only).
    Uploads are multipart: `file` (JPEG or PNG, judged by its content, at most 5 MiB),
    `kind` (signature or photo) and `signer`."""

    path = "/"
    tags = ["evidence"]

    @post(
        "/assignments/{assignment_id:int}/evidence",
        operation_id="addLoanEvidence",
        request_max_body_size=BODY_BYTES,
    )
    async def add_to_loan(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        assignment_id: int,
    ) -> EvidenceRead:
        owner = await evidence.assignment_owner(tx, principal, assignment_id)
        data, fields = await read_evidence(request)
        return await evidence.add(tx, principal, owner, data, fields)

    @get("/assignments/{assignment_id:int}/evidence", operation_id="listLoanEvidence")
    async def list_of_loan(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        assignment_id: int,
    ) -> EvidencePage:
        owner = await evidence.assignment_owner(tx, principal, assignment_id)
        return EvidencePage(
            items=await evidence.read_listed(tx, principal, owner, privacy.route_of(request))
        )

    @post(
        "/consents/{consent_id:int}/evidence",
        operation_id="addConsentEvidence",
        request_max_body_size=BODY_BYTES,
    )
    async def add_to_consent(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        consent_id: int,
    ) -> EvidenceRead:
        owner = await evidence.consent_owner(tx, principal, consent_id)
        data, fields = await read_evidence(request)
        return await evidence.add(tx, principal, owner, data, fields)

    @get("/consents/{consent_id:int}/evidence", operation_id="listConsentEvidence")
    async def list_of_consent(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        consent_id: int,
    ) -> EvidencePage:
        owner = await evidence.consent_owner(tx, principal, consent_id)
        return EvidencePage(
            items=await evidence.read_listed(tx, principal, owner, privacy.route_of(request))
        )

    @post(
        "/allocations/{allocation_id:int}/evidence",
        operation_id="addHandoverEvidence",
        request_max_body_size=BODY_BYTES,
    )
    async def add_to_allocation(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        allocation_id: int,
    ) -> EvidenceRead:
        owner = await evidence.allocation_owner(tx, principal, allocation_id)
        data, fields = await read_evidence(request)
        return await evidence.add(tx, principal, owner, data, fields)

    @get("/allocations/{allocation_id:int}/evidence", operation_id="listHandoverEvidence")
    async def list_of_allocation(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        allocation_id: int,
    ) -> EvidencePage:
        owner = await evidence.allocation_owner(tx, principal, allocation_id)
        return EvidencePage(
            items=await evidence.read_listed(tx, principal, owner, privacy.route_of(request))
        )

    @get(
        "/evidence/{evidence_id:int}",
        operation_id="downloadEvidence",
        media_type="application/octet-stream",
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        evidence_id: int,
        thumb: bool = False,
    ) -> Response[bytes]:
        """The image itself, as an attachment (`nosniff`, a CSP that runs nothing);
        `thumb=true`: a copy at most 320 pixels on a side, for a list."""
        return evidence_response(
            await evidence.download(
                tx,
                principal,
                evidence_id,
                route=privacy.route_of(request),
                thumb=thumb,
                if_none_match=request.headers.get("if-none-match"),
            )
        )


class CollectionController(Controller):
    """The end-of-year collection of a school (custody/collection.py): scan device after
    device, each closing its loan; who still holds a device, by class; the same as XLSX.
    It names students: the school's staff and admins only (others: 404)."""

    path = "/schools/{school_id:int}/collect"
    tags = ["assignments"]

    @get("/", operation_id="collectionOutstanding")
    async def outstanding(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Outstanding:
        """Every device still out with a student, class by class."""
        found = await collection.outstanding(tx, principal, school_id)
        await privacy.record_reads(
            tx, principal, privacy.route_of(request), [s for c in found.classes for s in c.loans]
        )
        return found

    @post("/scans", operation_id="collectionScan", status_code=200)
    async def scan(
        self, tx: AsyncSession, principal: Principal, school_id: int, data: CollectScan
    ) -> Collected:
        """Close the open loan of the device scanned (`code`: its tag, or its label's QR
        link), in `condition_in` (default: the condition it was lent in), `wiped` or not.
        409 when the device is not on loan, or belongs to another school."""
        return await collection.collect(tx, principal, school_id, data)

    @get(
        "/outstanding.xlsx",
        operation_id="collectionOutstandingXlsx",
        media_type=XLSX,
    )
    async def outstanding_xlsx(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Stream:
        """What is still out as a workbook, one row per device, by class, headed in the
        reader's language."""
        found = await collection.outstanding(tx, principal, school_id)
        await privacy.record_reads(
            tx, principal, privacy.route_of(request), [s for c in found.classes for s in c.loans]
        )
        lang = reader_language(request)
        handle = await collection.outstanding_xlsx(
            heavy_work(request), found, lambda text: translate(text, lang), lambda code: code
        )
        return download(handle, f"school-{school_id}-still-out.xlsx", XLSX)

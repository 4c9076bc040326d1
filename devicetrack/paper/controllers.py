from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Locale
from devicetrack.config import Settings
from devicetrack.paper import service
from devicetrack.paper.language import Languages
from devicetrack.paper.responses import pdf_response
from devicetrack.privacy.service import route_of

PDF = "application/pdf"


class PaperController(Controller):
    """Printed records in the Vietnamese administrative style: A4 PDFs, Vietnamese unless
    `lang=en`, with the national motto, place and date, the parties, the devices, signature
    blocks and a QR code linking to the record. Out of scope: 404."""

    path = "/"
    tags = ["paper"]

    @get(
        "/allocations/{allocation_id:int}/handover.pdf",
        operation_id="allocationHandoverPdf",
        media_type=PDF,
    )
    async def handover(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        languages: Languages,
        allocation_id: int,
        lang: Locale = Locale.VI,
    ) -> Stream:
        """The handover minutes (biên bản bàn giao) of an allocation from the province to
        the school: every device with its tag, kind, make and model, serial or IMEI and
        condition, for both parties to sign."""
        document = await service.handover(
            tx, principal, allocation_id, languages(lang), settings.public_url
        )
        return await pdf_response(request, document, f"handover-{allocation_id}.pdf")

    @get(
        "/assignments/{assignment_id:int}/agreement.pdf",
        operation_id="loanAgreementPdf",
        media_type=PDF,
    )
    async def agreement(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        languages: Languages,
        assignment_id: int,
        lang: Locale = Locale.VI,
    ) -> Stream:
        """The loan agreement for the guardian: student, device, condition when lent, due
        date, the guardian's commitments, signatures of guardian, student (from age 7) and
        staff. It names the student: the school's staff and admins only; the read is
        written to the child's access log."""
        document = await service.agreement(
            tx, principal, assignment_id, languages(lang), settings.public_url, route_of(request)
        )
        return await pdf_response(request, document, f"agreement-{assignment_id}.pdf")

    @get(
        "/schools/{school_id:int}/loan-sheet.pdf", operation_id="classLoanSheetPdf", media_type=PDF
    )
    async def loan_sheet(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        languages: Languages,
        school_id: int,
        class_name: str | None = None,
        lang: Locale = Locale.VI,
    ) -> Stream:
        """One page per class (or `class_name`'s only): each student holding a device, the
        device, and a column to sign, to collect signatures in one sitting. School staff
        and admins only (it names students; logged)."""
        document = await service.loan_sheet(
            tx,
            principal,
            school_id,
            (class_name or "").strip()[:20] or None,
            languages(lang),
            settings.public_url,
            route_of(request),
        )
        return await pdf_response(request, document, f"loan-sheet-{school_id}.pdf")

    @get(
        "/devices/{asset_tag:str}/retirement.pdf",
        operation_id="retirementRecordPdf",
        media_type=PDF,
    )
    async def retirement(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        languages: Languages,
        asset_tag: str,
        lang: Locale = Locale.VI,
    ) -> Stream:
        """The disposal record of a retired device, with the wipe it had (or boxes to tick
        when none is recorded); 409 for a device that is not retired. Not for donors."""
        document = await service.retirement(
            tx, principal, asset_tag, languages(lang), settings.public_url
        )
        return await pdf_response(request, document, f"retirement-{document_tag(asset_tag)}.pdf")


def document_tag(code: str) -> str:
    """A file name's part from what the caller typed: letters, digits and dashes only."""
    return "".join(ch for ch in code if ch.isalnum() or ch == "-")[:20] or "device"

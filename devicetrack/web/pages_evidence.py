"""Signatures and photos of signed paper from the pages: the signature pad and photo input
of the lend, return and receive forms (templates/_signature_pad.html), each kept with its
record by custody/evidence.py; and an image read back for a page (`/evidence/{id}`, an
attachment that is never run as a page, to those who may read its record)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations import service as allocations
from devicetrack.auth.principal import Principal
from devicetrack.custody import evidence
from devicetrack.custody.evidence_upload import BODY_BYTES, evidence_response
from devicetrack.errors import DomainError, FieldError
from devicetrack.evidence.values import EvidenceKind
from devicetrack.i18n import N_
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments
from devicetrack.students import service as students
from devicetrack.students.schemas import (
    AssignmentCreate,
    AssignmentRead,
    AssignmentReturn,
    ConsentCreate,
    ConsentRead,
)
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.render import page

# A lend or return form with a signature and a photo of the signed paper.
FORM_BYTES = BODY_BYTES


async def pieces_of(form: Form) -> list[tuple[EvidenceKind, bytes]]:
    """The pad's drawing (`signature`) and the photo (`photo`) a form carries, if any: an
    empty file input sends a part with no content. Read with UploadFile.read (a thread
    when the part was spooled to disk: a photo is megabytes), not on the event loop."""
    found: list[tuple[EvidenceKind, bytes]] = []
    for name, kind in (("signature", EvidenceKind.SIGNATURE), ("photo", EvidenceKind.PHOTO)):
        upload = form.values.get(name)
        if isinstance(upload, UploadFile) and (data := await upload.read()):
            found.append((kind, data))
    return found


async def keep(
    tx: AsyncSession,
    principal: Principal,
    owner: evidence.Owner,
    pieces: list[tuple[EvidenceKind, bytes]],
    form: Form,
) -> None:
    """Keep a form's signature and photo (`pieces_of`) with the record `owner`; a refusal
    rolls back the whole form, so nothing is lent or taken back with a file that is not
    an image."""
    if pieces:
        signer = form.values.get("signer")
        await evidence.add_pieces(
            tx, principal, owner, pieces, signer if isinstance(signer, str) else None
        )


async def lend_signed(
    tx: AsyncSession, principal: Principal, data: AssignmentCreate, form: Form
) -> AssignmentRead:
    """Lend, keeping the form's signature and photo with the new loan."""
    pieces = await pieces_of(form)
    loan = await assignments.assign(tx, principal, data)
    await keep(tx, principal, await evidence.assignment_owner(tx, principal, loan.id), pieces, form)
    return loan


async def return_signed(
    tx: AsyncSession, principal: Principal, loan_id: int, data: AssignmentReturn, form: Form
) -> AssignmentRead:
    """Take back, keeping the form's signature and photo with the loan."""
    pieces = await pieces_of(form)
    loan = await assignments.return_device(tx, principal, loan_id, data)
    await keep(tx, principal, await evidence.assignment_owner(tx, principal, loan_id), pieces, form)
    return loan


async def consent_signed(
    tx: AsyncSession, principal: Principal, student_id: int, data: ConsentCreate, form: Form
) -> ConsentRead:
    """Record a consent, keeping the form's signature and photo of the signed paper."""
    pieces = await pieces_of(form)
    consent = await students.add_consent(tx, principal, student_id, data)
    await keep(tx, principal, await evidence.consent_owner(tx, principal, consent.id), pieces, form)
    return consent


async def receive_context(tx: AsyncSession, principal: Principal, school_id: int) -> dict[str, Any]:
    """What the receive page shows besides the scanning: the latest allocations, each with
    its handover minutes and the signatures kept with them."""
    return {"handovers": await evidence.handovers(tx, principal, school_id)}


class EvidencePages(Controller):
    path = "/"
    include_in_schema = False

    @get("/evidence/{evidence_id:int}")
    async def image(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        evidence_id: int,
        thumb: str | None = None,
    ) -> Response[bytes]:
        """The image; `?thumb=1` a small copy, as the pages' lists show it."""
        return evidence_response(
            await evidence.download(
                tx,
                principal,
                evidence_id,
                route=privacy.route_of(request),
                thumb=thumb == "1",
                if_none_match=request.headers.get("if-none-match"),
            )
        )

    @post("/schools/{school_id:int}/handover-evidence", request_max_body_size=FORM_BYTES)
    async def sign_handover(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        """The receive page's "sign the handover": the pad's drawing or a photo of the
        signed minutes, kept with the allocation chosen."""
        school = await schools.get_school(tx, principal, school_id)
        form = await Form.of(request)
        allocation_id = form.integer("allocation_id", required=True)
        pieces = await pieces_of(form)
        if not pieces:
            form.errors.append(FieldError(field="photo", message=N_("sign, or choose a photo")))

        async def sign() -> None:
            assert allocation_id is not None
            owner = await evidence.handover_owner(tx, principal, school_id, allocation_id)
            await keep(tx, principal, owner, pieces, form)

        result = form.refusal() or await attempt(tx, sign)
        if isinstance(result, DomainError):
            return page(
                request,
                "receive.html",
                principal,
                error=result,
                school=school,
                waiting=await allocations.awaiting_receipt(tx, principal, school_id),
                result=None,
                **await receive_context(tx, principal, school_id),
            )
        return done(f"/schools/{school_id}/receive", "Signature kept.")

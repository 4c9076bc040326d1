"""Evidence of a handover, a loan or a consent: a signature drawn on the phone, or a photo
of the signed paper, kept in PostgreSQL with the record it proves.

Who may add or read it is who may read the record, and no more:
- a loan's or a consent's evidence names a student (a guardian's signature, a page with the
  child's name): the school's staff and admins only; province officers and donors get 404,
  as if there were none;
- an allocation's (the handover minutes signed by both parties): those who see the
  allocation (the province's officers, the school's staff, admins), never donors.

What is stored is decided by the content, not the name or declared type: a JPEG or a PNG
(first bytes), which Pillow decodes whole (in a worker thread) — a file that only starts
like a PNG is refused; at most 5 MiB and 40 megapixels. Only the image is kept: whatever a
file carries after the image's end (HTML or SVG behind a valid PNG, a phone's motion-photo
video behind a JPEG) is dropped (evidence/image_end.py). It is sent
back as an attachment with `nosniff` and a CSP that runs nothing (custody/controllers.py),
so a browser never treats it as a page."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations import service as allocations
from devicetrack.allocations.schemas import AllocationSummary
from devicetrack.auth.principal import Principal
from devicetrack.common.workers import off_loop
from devicetrack.devices.photos import image_type
from devicetrack.errors import (
    FieldError,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    field_error_of,
)
from devicetrack.evidence import repository as repo
from devicetrack.evidence.image_end import image_end
from devicetrack.evidence.limits import MAX_BYTES, MAX_PIXELS
from devicetrack.evidence.models import Evidence
from devicetrack.evidence.schemas import EvidenceFields, EvidenceRead, evidence_read
from devicetrack.evidence.values import EvidenceKind
from devicetrack.i18n import N_, Message
from devicetrack.privacy import service as access_log
from devicetrack.students import assignments
from devicetrack.students import service as students
from devicetrack.students.models import Consent

# At most this many pieces of evidence are drawn into a printed record.
MAX_ON_PAPER = 6
# A page's small copy of an image: at most this many pixels on a side; a file this small
# is sent as it is (a signature from the pad is 5–30 KB).
THUMB = 320
THUMB_AS_IS = 64 * 1024
# A school's allocations read to find its latest ones.
MAX_ALLOCATIONS = 10_000


@dataclass(frozen=True)
class Owner:
    """The record a piece of evidence proves, once the caller may read it."""

    school_id: int
    allocation_id: int | None = None
    assignment_id: int | None = None
    consent_id: int | None = None
    student_id: int | None = None

    def where(self) -> ColumnElement[bool]:
        if self.allocation_id is not None:
            return repo.of_allocation(self.allocation_id)
        if self.assignment_id is not None:
            return repo.of_assignment(self.assignment_id)
        assert self.consent_id is not None
        return repo.of_consent(self.consent_id)


async def allocation_owner(
    session: AsyncSession, principal: Principal, allocation_id: int
) -> Owner:
    if principal.is_donor:
        raise NotFound(N_("No allocation {id}."), id=allocation_id)
    allocation = await allocations.read_allocation(session, principal, allocation_id)
    return Owner(school_id=allocation.school_id, allocation_id=allocation_id)


async def handover_owner(
    session: AsyncSession, principal: Principal, school_id: int, allocation_id: int
) -> Owner:
    """An allocation of `school_id` (a school's receive page signs its own handovers only:
    another school's allocation named there is 404, even to one who may sign both)."""
    owner = await allocation_owner(session, principal, allocation_id)
    if owner.school_id != school_id:
        raise NotFound(N_("No allocation {id}."), id=allocation_id)
    return owner


async def assignment_owner(
    session: AsyncSession, principal: Principal, assignment_id: int
) -> Owner:
    if not (principal.is_admin or principal.is_school_staff):  # donors, officers: never
        raise NotFound(N_("No assignment {id}."), id=assignment_id)
    try:
        loan = await assignments.get_assignment(session, principal, assignment_id)
    except NotFound:  # the same answer as for none at all, whatever the reason
        raise NotFound(N_("No assignment {id}."), id=assignment_id) from None
    if not students.sees_personal_data(principal, loan.school_id):
        raise NotFound(N_("No assignment {id}."), id=assignment_id)
    return Owner(school_id=loan.school_id, assignment_id=assignment_id, student_id=loan.student_id)


async def consent_owner(session: AsyncSession, principal: Principal, consent_id: int) -> Owner:
    consent = None
    if principal.is_admin or principal.is_school_staff:  # donors, officers: never
        consent = await session.get(Consent, consent_id)
    if consent is None:
        raise NotFound(N_("No consent {id}."), id=consent_id)
    try:
        student, _ = await students.get_student(session, principal, consent.student_id)
    except NotFound:  # another school's: the same answer as for none at all
        raise NotFound(N_("No consent {id}."), id=consent_id) from None
    if not students.sees_personal_data(principal, student.school_id):
        raise NotFound(N_("No consent {id}."), id=consent_id)
    return Owner(school_id=student.school_id, consent_id=consent_id, student_id=student.id)


OWNERS: dict[str, Callable[[AsyncSession, Principal, int], Any]] = {
    "allocation": allocation_owner,
    "assignment": assignment_owner,
    "consent": consent_owner,
}


# ---- the content --------------------------------------------------------------------


def too_large(size: int) -> PayloadTooLarge:
    mib = f"{MAX_BYTES / (1024 * 1024):g}"
    return PayloadTooLarge(
        N_("The signature or photo is larger than {mib} MiB; take the photo again smaller."),
        errors=[FieldError(field="file", message=Message(N_("larger than {mib} MiB"), mib=mib))],
        extra={"limit": "max_evidence_bytes", "max": MAX_BYTES, "size": size},
        mib=mib,
    )


def inspect(data: bytes) -> tuple[str, int, int, bytes]:
    """(media type, width, height, the image) of a JPEG or PNG, decoded whole: refused
    when it is another type (415), too big, or does not decode (a file that only starts
    like an image). The image is `data` up to the image's end: nothing behind it is kept.
    Blocking: run it in a worker thread."""
    from PIL import Image

    if len(data) > MAX_BYTES:
        raise too_large(len(data))
    kind = image_type(data)
    data = data[: image_end(data, kind)]
    try:
        plugin = "JPEG" if kind == "image/jpeg" else "PNG"
        with Image.open(io.BytesIO(data), formats=[plugin]) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise ValidationFailed(
                    N_("The image has more than {n} megapixels; send a smaller one."),
                    errors=[FieldError(field="file", message=N_("too many pixels"))],
                    n=MAX_PIXELS // 1_000_000,
                )
            im.load()  # every pixel: a truncated or forged file fails here
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed(
            N_("The file is not a readable JPEG or PNG image; take the photo again."),
            errors=[FieldError(field="file", message=N_("not a readable image"))],
        ) from None
    return kind, width, height, data


def fields_of(values: dict[str, Any]) -> EvidenceFields:
    """The text fields (empty ones left out) as EvidenceFields, or a refusal naming one."""
    given = {k: v.strip() for k, v in values.items() if isinstance(v, str) and v.strip()}
    try:
        return msgspec.convert(given, EvidenceFields)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(
            N_("Some fields need another look."), errors=[field_error_of(exc)]
        ) from None


# ---- adding, listing, reading -------------------------------------------------------


async def add(
    session: AsyncSession,
    principal: Principal,
    owner: Owner,
    data: bytes,
    fields: EvidenceFields,
) -> EvidenceRead:
    """Keep `data` (checked by its content) as evidence of the owner's record."""
    if not data:
        raise ValidationFailed(
            N_("Send the signature or photo as the multipart field `file`."),
            errors=[FieldError(field="file", message=N_("missing"))],
        )
    if len(data) > MAX_BYTES:
        raise too_large(len(data))
    media_type, width, height, data = await off_loop(inspect, data)
    row = await repo.add(
        session,
        Evidence(
            school_id=owner.school_id,
            allocation_id=owner.allocation_id,
            assignment_id=owner.assignment_id,
            consent_id=owner.consent_id,
            student_id=owner.student_id,
            kind=fields.kind,
            media_type=media_type,
            width=width,
            height=height,
            signer=fields.signer,
            content=data,
            created_by=principal.user_id or None,
        ),
    )
    if owner.student_id is not None:
        # The answer may name the guardian: a copy kept for a retried request is dropped
        # when the child is erased.
        access_log.note_named(session, [owner.student_id])
    found = await repo.one(session, row.id or 0)
    assert found is not None
    return evidence_read(found)


async def list_for(session: AsyncSession, owner: Owner) -> list[EvidenceRead]:
    return [evidence_read(row) for row in await repo.listed(session, owner.where())]


async def read_listed(
    session: AsyncSession, principal: Principal, owner: Owner, route: str
) -> list[EvidenceRead]:
    """The API's list of a record's evidence; a loan's or consent's is a read of the
    student, written to the child's access log."""
    found = await list_for(session, owner)
    if found and owner.student_id is not None:
        await access_log.record(session, principal, route, [owner.student_id])
    return found


async def list_of_student(
    session: AsyncSession, principal: Principal, student_id: int
) -> list[EvidenceRead]:
    """Every piece of evidence of a student's loans and consents (their page), for those
    who see the student's personal data; nothing for anyone else."""
    student, _ = await students.get_student(session, principal, student_id)
    if not students.sees_personal_data(principal, student.school_id):
        return []
    return [evidence_read(row) for row in await repo.listed(session, repo.of_student(student_id))]


def thumbnail(data: bytes, media_type: str) -> tuple[bytes, str]:
    """A small copy for a page (THUMB pixels at most on a side): a phone's photo of a page
    is megabytes, its thumbnail a few KB on a school's 3G. A small file is sent as it is.
    Blocking: run it in a worker thread."""
    from PIL import Image

    if len(data) <= THUMB_AS_IS:
        return data, media_type
    with Image.open(
        io.BytesIO(data), formats=["JPEG" if media_type == "image/jpeg" else "PNG"]
    ) as im:
        im.draft("RGB", (THUMB, THUMB))  # a JPEG decodes at 1/2–1/8 scale: fast
        im.thumbnail((THUMB, THUMB))
        out = io.BytesIO()
        if media_type == "image/png":
            im.save(out, "PNG", optimize=True)
        else:
            im.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue(), media_type


@dataclass(frozen=True)
class Download:
    """A piece of evidence as it is sent: its record, its ETag, and its bytes — None when
    the caller's copy is current (If-None-Match named the ETag): answered 304, and the
    bytes were never read."""

    read: EvidenceRead
    etag: str
    data: bytes | None


def etag_of(row: Any, thumb: bool) -> str:
    """A strong ETag: evidence never changes once stored, so its id names its bytes; the
    time it was stored makes an id reused after a database was started afresh another tag,
    and the small copy's size (THUMB) a small copy made another way."""
    stamp = (row.created_at - _EPOCH) // timedelta(microseconds=1)
    return f'"ev{row.id}.{stamp:x}.{f"t{THUMB}" if thumb else "full"}"'


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_current(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names `etag` (or is `*`): RFC 9110's weak comparison, as a GET
    asks for."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


async def download(
    session: AsyncSession,
    principal: Principal,
    evidence_id: int,
    *,
    route: str,
    thumb: bool = False,
    if_none_match: str | None = None,
) -> Download:
    """A piece of evidence and its content (`thumb`: a small copy of it), for those who may
    read its record (404 for anyone else, as for one that does not exist, whatever ETag
    they send).

    A caller whose copy is current (If-None-Match) gets no bytes: none are read, nothing is
    decoded. It is still a read of the child, logged like the first: the image is on their
    screen again, and the access log answers who looked at a child's data and when — a
    look served from the browser's copy is still a look (one the server sees, at least).
    The small copy is made once, off the event loop, and kept with the row."""
    row = await repo.one(session, evidence_id)
    if row is None:
        raise NotFound(N_("No evidence {id}."), id=evidence_id)
    try:
        if row.allocation_id is not None:
            await allocation_owner(session, principal, row.allocation_id)
        elif row.assignment_id is not None:
            await assignment_owner(session, principal, row.assignment_id)
        else:
            await consent_owner(session, principal, row.consent_id)
    except NotFound:
        raise NotFound(N_("No evidence {id}."), id=evidence_id) from None
    if row.student_id is not None:  # a guardian's signature, a page naming the child
        await access_log.record(session, principal, route, [row.student_id])
    read, etag = evidence_read(row), etag_of(row, thumb)
    if is_current(if_none_match, etag):
        return Download(read, etag, None)
    if thumb and row.size_bytes > THUMB_AS_IS:
        kept = await repo.thumbnail(session, evidence_id)
        if kept is not None:
            return Download(read, etag, kept)
        data = await repo.content(session, evidence_id)
        assert data is not None
        small, _ = await off_loop(thumbnail, data, row.media_type)
        await repo.keep_thumbnail(session, evidence_id, small)
        return Download(read, etag, small)
    data = await repo.content(session, evidence_id)
    assert data is not None
    return Download(read, etag, data)


async def pictures_of(session: AsyncSession, owner: Owner) -> list[tuple[str, str | None, bytes]]:
    """(kind, signer, content) of the first pieces of evidence, for a printed record (the
    caller has been allowed to read the record)."""
    return await repo.images_of(session, owner.where(), MAX_ON_PAPER)


# ---- for the pages ------------------------------------------------------------------


async def add_pieces(
    session: AsyncSession,
    principal: Principal,
    owner: Owner,
    pieces: list[tuple[EvidenceKind, bytes]],
    signer: str | None,
) -> list[EvidenceRead]:
    """A page's signature pad and photo of the signed paper, each kept if given."""
    fields = fields_of({"signer": signer})
    return [
        await add(session, principal, owner, data, EvidenceFields(kind=kind, signer=fields.signer))
        for kind, data in pieces
    ]


async def shown_with_loan(
    session: AsyncSession, principal: Principal, assignment_id: int
) -> list[EvidenceRead]:
    """A loan's evidence beside it on a page: none for those who may not read it."""
    try:
        return await list_for(session, await assignment_owner(session, principal, assignment_id))
    except NotFound:
        return []


async def handovers(
    session: AsyncSession, principal: Principal, school_id: int, limit: int = 5
) -> list[tuple[AllocationSummary, list[EvidenceRead]]]:
    """The school's latest allocations, each with its handover evidence (the receive page:
    sign the minutes as the devices arrive)."""
    if principal.is_donor:
        return []
    found = await allocations.list_allocations(
        session, principal, school_id=school_id, after_id=None, limit=MAX_ALLOCATIONS
    )
    return [
        (a, await list_for(session, Owner(school_id=a.school_id, allocation_id=a.id)))
        for a in reversed(found[-limit:])
    ]

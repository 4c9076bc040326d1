from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.evidence.limits import Signer
from devicetrack.evidence.values import EvidenceKind


class EvidenceFields(Body):
    """The multipart fields beside the image (`file`): what it is and who signed."""

    kind: EvidenceKind = EvidenceKind.PHOTO
    signer: Signer | None = None


class EvidenceRead(msgspec.Struct, omit_defaults=True):
    """A piece of evidence without its content: `url` downloads it (as an attachment, never
    shown as a page). Exactly one of allocation_id, assignment_id and consent_id is set."""

    id: int
    kind: str
    media_type: str
    width: int
    height: int
    size_bytes: int
    created_at: datetime
    url: str
    allocation_id: int | None = None
    assignment_id: int | None = None
    consent_id: int | None = None
    signer: str | None = None


class EvidencePage(msgspec.Struct):
    items: list[EvidenceRead]


def evidence_read(row: Any) -> EvidenceRead:
    """A row of evidence.repository.listed (no content) as the API shows it."""
    return EvidenceRead(
        id=row.id,
        kind=row.kind,
        media_type=row.media_type,
        width=row.width,
        height=row.height,
        size_bytes=row.size_bytes,
        created_at=row.created_at,
        url=f"/api/v1/evidence/{row.id}",
        allocation_id=row.allocation_id,
        assignment_id=row.assignment_id,
        consent_id=row.consent_id,
        signer=row.signer,
    )

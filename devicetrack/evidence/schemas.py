from __future__ import annotations

from datetime import datetime

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

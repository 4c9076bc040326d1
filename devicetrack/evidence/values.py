"""The value lists of evidence (see devices/values.py for who reads them and how the
database is kept in step)."""

from __future__ import annotations

from enum import StrEnum


class EvidenceKind(StrEnum):
    """What a piece of evidence is: a signature drawn on the phone's screen, or a photo of
    the signed paper."""

    SIGNATURE = "signature"
    PHOTO = "photo"

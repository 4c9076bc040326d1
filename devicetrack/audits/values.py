"""The audits' value list, defined here once (see devices/values.py for the others)."""

from __future__ import annotations

from enum import StrEnum


class ScanOutcome(StrEnum):
    """What became of one scan of a batch, so a scanner shows it only once it is known: a
    typo is never shown as good first and refused after."""

    FOUND = "found"  # names a device this audit expects (lent ones included)
    UNEXPECTED = "unexpected"  # kept, but names no device expected here
    REJECTED = "rejected"  # not kept: a malformed entry, a wrong check character, a bad time

"""Input limits of audits and their scans, defined here once (see devices/limits.py for who
reads them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.common.limits import NOTE

LOCATION = 200  # a room or building ("Phòng thiết bị")
# What a scanner or a person typed: a tag, or anything else, kept as the unexpected code.
SCANNED = 60

Location = Annotated[str, msgspec.Meta(max_length=LOCATION)]
Scanned = Annotated[str, msgspec.Meta(max_length=SCANNED)]

LENGTHS: dict[tuple[str, str], int] = {
    ("audits", "location"): LOCATION,
    ("audit_scans", "code"): SCANNED,
    ("audit_scans", "note"): NOTE,
    ("audit_scans", "location"): LOCATION,
}

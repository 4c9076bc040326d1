"""Input limits of donations, their pledged lines and label batches, defined here once
(see devices/limits.py for who reads them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.common.limits import NOTE
from devicetrack.devices.limits import MODEL

REFERENCE = 100
PLEDGED_MAX = 1_000_000
# Tags reserved by one label batch.
BATCH_MAX = 100_000

Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=REFERENCE)]
Pledged = Annotated[int, msgspec.Meta(ge=1, le=PLEDGED_MAX)]
BatchCount = Annotated[int, msgspec.Meta(ge=1, le=BATCH_MAX)]

LENGTHS: dict[tuple[str, str], int] = {
    ("donations", "reference"): REFERENCE,
    ("donations", "note"): NOTE,
    ("donation_lines", "model"): MODEL,
    ("label_batches", "note"): NOTE,
}

"""Input limits of schools and enrolments, defined here once (see devices/limits.py for who
reads them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.errors import worded
from devicetrack.i18n import N_

CODE = 32  # the education database's school ID (the column is varchar(32))
NAME = 300
FORMER_DISTRICT = 200
ADDRESS = 500
COUNT_MAX = 10_000_000  # students in a school's enrolment

SchoolYear = Annotated[
    str,
    msgspec.Meta(
        pattern=worded(r"^[0-9]{4}-[0-9]{4}$", N_("use the form 2025-2026")), examples=["2025-2026"]
    ),
]
# `\S`: at least one character that is not a space (values are stored stripped).
SchoolCode = Annotated[str, msgspec.Meta(min_length=1, max_length=CODE, pattern=r"\S")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME, pattern=r"\S")]
FormerDistrict = Annotated[str, msgspec.Meta(max_length=FORMER_DISTRICT)]
Address = Annotated[str, msgspec.Meta(max_length=ADDRESS)]
Count = Annotated[int, msgspec.Meta(ge=0, le=COUNT_MAX)]

LENGTHS: dict[tuple[str, str], int] = {
    ("schools", "name"): NAME,
    ("schools", "former_district"): FORMER_DISTRICT,
    ("schools", "address"): ADDRESS,
}

"""Input limits of students, consents and loans, defined here once (see devices/limits.py
for who reads them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.common.limits import NOTE, PHONE
from devicetrack.errors import ranged, worded
from devicetrack.i18n import N_

CODE = 40
NAME = 200  # a student's or a guardian's full name, who gave a consent
CLASS_NAME = 20
EVIDENCE = 300
GRADE_MIN, GRADE_MAX = 0, 12  # 0 = preschool
BIRTH_YEAR_MIN, BIRTH_YEAR_MAX = 1990, 2030

Grade = Annotated[int, msgspec.Meta(ge=GRADE_MIN, le=GRADE_MAX)]
ranged("grade", N_("must be 0 (preschool) to 12"))
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=CODE)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME)]
ClassName = Annotated[str, msgspec.Meta(max_length=CLASS_NAME)]
NationalId = Annotated[str, msgspec.Meta(pattern=worded(r"^[0-9]{12}$", N_("must be 12 digits")))]
BirthYear = Annotated[int, msgspec.Meta(ge=BIRTH_YEAR_MIN, le=BIRTH_YEAR_MAX)]
Evidence = Annotated[str, msgspec.Meta(max_length=EVIDENCE)]

LENGTHS: dict[tuple[str, str], int] = {
    ("students", "student_code"): CODE,
    ("students", "full_name"): NAME,
    ("students", "class_name"): CLASS_NAME,
    ("students", "guardian_name"): NAME,
    ("students", "guardian_phone"): PHONE,
    ("consents", "given_by"): NAME,
    ("consents", "evidence"): EVIDENCE,
    ("assignments", "note"): NOTE,
}

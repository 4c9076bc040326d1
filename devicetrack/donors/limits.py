"""Input limits of donors, defined here once (see devices/limits.py for who reads them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.common.limits import PHONE
from devicetrack.errors import worded
from devicetrack.i18n import N_

NAME = 300
SHORT_NAME = 40  # printed on labels
CONTACT_NAME = 200
EMAIL = 254

# `\S`: at least one character that is not a space (values are stored stripped).
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME, pattern=r"\S")]
ShortName = Annotated[str, msgspec.Meta(min_length=1, max_length=SHORT_NAME, pattern=r"\S")]
ContactName = Annotated[str, msgspec.Meta(max_length=CONTACT_NAME)]
ContactEmail = Annotated[str, msgspec.Meta(max_length=EMAIL)]
# ISO 3166 alpha-2.
Country = Annotated[
    str, msgspec.Meta(pattern=worded(r"^[A-Z]{2}$", N_("must be a country code like VN")))
]

LENGTHS: dict[tuple[str, str], int] = {
    ("donors", "name"): NAME,
    ("donors", "short_name"): SHORT_NAME,
    ("donors", "contact_name"): CONTACT_NAME,
    ("donors", "contact_email"): EMAIL,
    ("donors", "contact_phone"): PHONE,
}

"""Input limits of users and API keys, defined here once (see devices/limits.py for who
reads them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.errors import worded
from devicetrack.i18n import N_

EMAIL = 254
NAME = 200  # a user's full name, an API key's name
PASSWORD = 200
NEW_PASSWORD_MIN = 10

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=EMAIL,
        pattern=worded(r"^[^@\s]+@[^@\s]+$", N_("not an email address")),
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=PASSWORD)]
NewPassword = Annotated[str, msgspec.Meta(min_length=NEW_PASSWORD_MIN, max_length=PASSWORD)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME)]

LENGTHS: dict[tuple[str, str], int] = {
    ("users", "email"): EMAIL,
    ("users", "full_name"): NAME,
    ("api_keys", "name"): NAME,
}

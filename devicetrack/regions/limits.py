"""The forms of the official codes of provinces and communes, defined here once."""

from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.errors import worded
from devicetrack.i18n import N_

ProvinceCode = Annotated[str, msgspec.Meta(pattern=worded(r"^[0-9]{2}$", N_("must be 2 digits")))]
CommuneCode = Annotated[str, msgspec.Meta(pattern=worded(r"^[0-9]{5}$", N_("must be 5 digits")))]

"""Input limits shared by several domains, each defined here once (each domain's own are in
its `limits.py`; README "Input limits" says who reads them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

# Free text typed about something: a device's note, a loan's, a donation's, a scan's.
NOTE = 2000
# A phone number as people type it ("+84 912 345 678"); stored shorter, as +84 and the
# 9 or 10 digits of the national number.
PHONE = 20

Note = Annotated[str, msgspec.Meta(max_length=NOTE)]
Phone = Annotated[str, msgspec.Meta(max_length=PHONE)]

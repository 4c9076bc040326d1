from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.donors.values import DonorKind

# `\S`: at least one character that is not a space (values are stored stripped).
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=r"\S")]
ShortName = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"\S")]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]


class DonorCreate(Body):
    name: Name
    short_name: ShortName
    kind: DonorKind
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    country: Country = "VN"


class DonorUpdate(Body):
    name: Name | None = None
    short_name: ShortName | None = None
    kind: DonorKind | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    country: Country | None = None


class DonorRead(msgspec.Struct):
    id: int
    name: str
    short_name: str
    kind: str
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    country: str
    created_at: datetime


class DonorPage(msgspec.Struct):
    items: list[DonorRead]
    next_cursor: str | None

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType

from devicetrack.common.limits import Phone
from devicetrack.common.schemas import Body
from devicetrack.donors.limits import ContactEmail, ContactName, Country, Name, ShortName
from devicetrack.donors.values import DonorKind


class DonorCreate(Body):
    name: Name
    short_name: ShortName
    kind: DonorKind
    contact_name: ContactName | None = None
    contact_email: ContactEmail | None = None
    contact_phone: Phone | None = None
    country: Country = "VN"


class DonorUpdate(Body):
    """Body of PATCH /donors/{id}: a field left out is unchanged; null clears a contact."""

    name: Name | UnsetType = UNSET
    short_name: ShortName | UnsetType = UNSET
    kind: DonorKind | UnsetType = UNSET
    contact_name: ContactName | UnsetType | None = UNSET
    contact_email: ContactEmail | UnsetType | None = UNSET
    contact_phone: Phone | UnsetType | None = UNSET
    country: Country | UnsetType = UNSET


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

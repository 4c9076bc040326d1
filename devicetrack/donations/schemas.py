from __future__ import annotations

from datetime import date, datetime

import msgspec
from msgspec import UNSET, UnsetType

from devicetrack.common.limits import Note
from devicetrack.common.schemas import Body
from devicetrack.devices.limits import Model
from devicetrack.devices.values import DeviceKind
from devicetrack.donations.limits import BatchCount, Pledged, Reference
from devicetrack.regions.limits import ProvinceCode


class PledgedLineIn(Body):
    kind: DeviceKind
    quantity: Pledged
    model: Model | None = None


class DonationCreate(Body):
    donor_id: int
    province_code: ProvinceCode
    reference: Reference
    received_on: date | None = None
    note: Note | None = None
    pledged: list[PledgedLineIn] = []


class DonationUpdate(Body):
    """Body of PATCH /donations/{id}: a field left out is unchanged; null clears the date
    or the note."""

    reference: Reference | UnsetType = UNSET
    received_on: date | UnsetType | None = UNSET
    note: Note | UnsetType | None = UNSET
    # Replaces all pledged lines when given.
    pledged: list[PledgedLineIn] | UnsetType = UNSET


class PledgedLineRead(msgspec.Struct):
    kind: str
    quantity: int
    model: str | None


class KindReconciliation(msgspec.Struct):
    kind: str
    pledged: int
    received: int
    outstanding: int


class DonationRead(msgspec.Struct):
    id: int
    donor_id: int
    donor_name: str
    province_code: str
    reference: str
    received_on: date | None
    note: str | None
    created_at: datetime
    pledged: list[PledgedLineRead]
    received: dict[str, int]
    reconciliation: list[KindReconciliation]


class DonationSummary(msgspec.Struct):
    id: int
    donor_id: int
    donor_name: str
    province_code: str
    reference: str
    received_on: date | None
    pledged_total: int
    received_total: int


class DonationPage(msgspec.Struct):
    items: list[DonationSummary]
    next_cursor: str | None


class LabelBatchCreate(Body):
    province_code: ProvinceCode
    count: BatchCount
    note: Note | None = None


class LabelBatchRead(msgspec.Struct):
    id: int
    province_code: str
    count: int
    first_tag: str
    last_tag: str
    bound: int
    note: str | None
    created_at: datetime


class LabelBatchDetail(msgspec.Struct):
    id: int
    province_code: str
    count: int
    bound: int
    tags: list[str]
    bound_tags: list[str]
    created_at: datetime


class LabelBatchPage(msgspec.Struct):
    items: list[LabelBatchRead]
    next_cursor: str | None

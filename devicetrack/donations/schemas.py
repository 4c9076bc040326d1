from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.devices.values import DeviceKind

Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class PledgedLineIn(Body):
    kind: DeviceKind
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    model: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class DonationCreate(Body):
    donor_id: int
    province_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2}$")]
    reference: Reference
    received_on: date | None = None
    note: str | None = None
    pledged: list[PledgedLineIn] = []


class DonationUpdate(Body):
    reference: Reference | None = None
    received_on: date | None = None
    note: str | None = None
    # Replaces all pledged lines when given.
    pledged: list[PledgedLineIn] | None = None


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
    province_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2}$")]
    count: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    note: str | None = None


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

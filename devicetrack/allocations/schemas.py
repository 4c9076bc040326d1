from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.devices.values import DeviceKind


class AllocationCreate(Body):
    """Either `asset_tags`, or `kind` and `quantity` (optionally from one donation)."""

    school_id: int
    asset_tags: Annotated[list[str], msgspec.Meta(max_length=10_000)] | None = None
    kind: DeviceKind | None = None
    quantity: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    donation_id: int | None = None
    override: bool = False
    note: str | None = None


class AllocatedDevice(msgspec.Struct):
    asset_tag: str
    kind: str
    status: str
    received: bool


class AllocationRead(msgspec.Struct):
    id: int
    school_id: int
    province_code: str
    kind: str | None
    quantity: int
    donation_id: int | None
    override: bool
    note: str | None
    created_at: datetime
    received: int
    devices: list[AllocatedDevice]


class AllocationSummary(msgspec.Struct):
    id: int
    school_id: int
    kind: str | None
    quantity: int
    received: int
    created_at: datetime


class AllocationPage(msgspec.Struct):
    items: list[AllocationSummary]
    next_cursor: str | None


class QuotaWrite(Body):
    kind: DeviceKind
    quantity: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
    donation_id: int | None = None


class QuotaRead(msgspec.Struct):
    kind: str
    quantity: int
    donation_id: int | None
    held: int


class QuotaList(msgspec.Struct):
    items: list[QuotaRead]


class ReceiptCreate(Body):
    asset_tags: Annotated[list[str], msgspec.Meta(min_length=1, max_length=10_000)]
    note: str | None = None


class Discrepancy(msgspec.Struct):
    asset_tag: str
    reason: str


class ReceiptResult(msgspec.Struct):
    received: list[str]
    discrepancies: list[Discrepancy]

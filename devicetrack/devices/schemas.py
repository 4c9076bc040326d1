from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.devices.values import ActivationLock, Carrier, Condition


class IntakeRow(Body):
    """One device in a JSON intake list (the same columns as the CSV/XLSX upload)."""

    kind: str
    make: str | None = None
    model: str | None = None
    serial: str | None = None
    imei: str | None = None
    iccid: str | None = None
    msisdn: str | None = None
    carrier: str | None = None
    plan_name: str | None = None
    plan_quota_gb: float | str | None = None
    plan_expires_on: str | None = None
    paid_by: str | None = None
    condition: str | None = None
    asset_tag: str | None = None
    note: str | None = None
    warranty_until: str | None = None
    # Intake facts of a used device (the upload's columns of the same names).
    activation_lock: str | None = None
    storage_gb: int | str | None = None
    ram_gb: float | str | None = None
    battery_health_pct: int | str | None = None


class UpdateRow(Body):
    asset_tag: str
    model: str | None = None
    serial: str | None = None
    condition: str | None = None
    note: str | None = None
    msisdn: str | None = None
    carrier: str | None = None
    plan_name: str | None = None
    plan_quota_gb: float | str | None = None
    plan_expires_on: str | None = None
    paid_by: str | None = None
    warranty_until: str | None = None
    activation_lock: str | None = None
    storage_gb: int | str | None = None
    ram_gb: float | str | None = None
    battery_health_pct: int | str | None = None


class DeviceRead(msgspec.Struct, omit_defaults=False):
    id: int
    asset_tag: str
    kind: str
    make: str | None
    model: str | None
    serial: str | None
    imei: str | None
    status: str
    condition: str
    province_code: str
    donation_id: int
    donor_id: int
    school_id: int | None
    received_at: datetime
    last_seen_at: datetime | None
    warranty_until: date | None
    note: str | None
    iccid: str | None
    msisdn: str | None
    carrier: str | None
    plan_name: str | None
    plan_quota_gb: Decimal | None
    plan_expires_on: date | None
    paid_by: str | None
    installed_in: str | None
    installed_sim: str | None
    updated_at: datetime
    # Returned without a reset: must be wiped (the `wipe` action) before it is lent again.
    needs_wipe: bool = False
    # Intake facts of a used device: a lock (locked_*) keeps it from being lent or
    # allocated until it is cleared.
    activation_lock: ActivationLock = ActivationLock.UNKNOWN
    storage_gb: int | None = None
    ram_gb: Decimal | None = None
    battery_health_pct: int | None = None


class ScannedCode(msgspec.Struct):
    """One code read off a photo: its text, Code 128 or QR, and the device it names (or
    why none: the answer GET /scan/{code} would have given)."""

    text: str
    symbology: str
    asset_tag: str | None
    problem: str | None = None


class PhotoScan(msgspec.Struct):
    """Every device whose label is in the photo, once each, as GET /scan/{code} answers
    it; and every code read, in the order found."""

    items: list[DeviceRead]
    codes: list[ScannedCode]


class DevicePage(msgspec.Struct):
    items: list[DeviceRead]
    next_cursor: str | None


class DeviceUpdate(Body):
    make: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    model: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    serial: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    warranty_until: date | None = None
    # A SIM's number and plan (refused for other kinds): a renewed plan is a new expiry date.
    msisdn: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    carrier: Carrier | None = None
    plan_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    # A number of GB (msgspec bounds floats, not Decimals; stored as numeric(8,2)).
    plan_quota_gb: Annotated[float, msgspec.Meta(ge=0, lt=1_000_000)] | None = None
    plan_expires_on: date | None = None
    paid_by: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    # Intake facts of a used device: `"activation_lock": "clear"` once the lock is removed.
    activation_lock: ActivationLock | None = None
    storage_gb: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    ram_gb: Annotated[float, msgspec.Meta(gt=0, le=10_000)] | None = None
    battery_health_pct: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None


class EventRead(msgspec.Struct):
    id: int
    at: datetime
    action: str
    actor_id: int | None
    actor_name: str | None
    from_status: str | None
    to_status: str | None
    school_id: int | None
    student_id: int | None
    condition: str | None
    note: str | None
    data: dict[str, Any] | None


class EventPage(msgspec.Struct):
    items: list[EventRead]
    next_cursor: str | None


class ActionBody(Body):
    """Body of POST /devices/{asset_tag}/actions/{action}; each action reads what it needs."""

    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    sim: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    school_id: int | None = None
    condition: Condition | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    # Allocation over a school's quota (province officers and admins).
    override: bool = False


class ActionResult(msgspec.Struct):
    device: DeviceRead
    action: str
    event_id: int

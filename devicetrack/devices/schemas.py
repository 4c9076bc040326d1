from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from devicetrack.common.limits import Note, Phone
from devicetrack.common.schemas import Body
from devicetrack.devices.limits import (
    BatteryPct,
    Code,
    Make,
    Model,
    PaidBy,
    PlanName,
    QuotaGb,
    RamGb,
    Reason,
    Serial,
    StorageGb,
)
from devicetrack.devices.values import ActivationLock, Carrier, Condition, DeviceKind


class DeviceIntake(Body, gc=False):
    """One device registered at intake: an item of the JSON list, or a row of the CSV/XLSX
    upload (converted into this Struct after its words are read, devices/intake_rows.py).
    Its fields, in this order, are the upload's columns and the staging table's.

    gc=False: a 100,000-row upload holds 100,000 of these, and the collector need not
    walk them (they hold only strings, numbers and dates)."""

    kind: DeviceKind
    make: Make | None = None
    model: Model | None = None
    serial: Serial | None = None
    imei: Code | None = None
    iccid: Code | None = None
    msisdn: Phone | None = None
    carrier: Carrier | None = None
    plan_name: PlanName | None = None
    plan_quota_gb: QuotaGb | None = None
    plan_expires_on: date | None = None
    paid_by: PaidBy | None = None
    condition: Condition = Condition.NEW
    asset_tag: Code | None = None
    note: Note | None = None
    warranty_until: date | None = None
    # Intake facts of a used device: an empty lock is one nobody has checked yet.
    activation_lock: ActivationLock = ActivationLock.UNKNOWN
    storage_gb: StorageGb | None = None
    ram_gb: RamGb | None = None
    battery_health_pct: BatteryPct | None = None


class DeviceDetails(Body):
    """What both an edit (PATCH) and a row of the update-import may change. A field left
    out is unchanged (UNSET); in a PATCH, null clears it."""

    model: Model | UnsetType | None = UNSET
    serial: Serial | UnsetType | None = UNSET
    note: Note | UnsetType | None = UNSET
    warranty_until: date | UnsetType | None = UNSET
    # A SIM's number and plan (refused for other kinds): a renewed plan is a new expiry date.
    msisdn: Phone | UnsetType | None = UNSET
    carrier: Carrier | UnsetType | None = UNSET
    plan_name: PlanName | UnsetType | None = UNSET
    plan_quota_gb: QuotaGb | UnsetType | None = UNSET
    plan_expires_on: date | UnsetType | None = UNSET
    paid_by: PaidBy | UnsetType | None = UNSET
    # Intake facts of a used device: `"activation_lock": "clear"` once the lock is removed
    # (a lock is never null: "unknown" says nobody checked).
    activation_lock: ActivationLock | UnsetType = UNSET
    storage_gb: StorageGb | UnsetType | None = UNSET
    ram_gb: RamGb | UnsetType | None = UNSET
    battery_health_pct: BatteryPct | UnsetType | None = UNSET


class DeviceUpdate(DeviceDetails):
    """Body of PATCH /devices/{asset_tag}."""

    make: Make | UnsetType | None = UNSET


class DeviceUpdateRow(DeviceDetails, kw_only=True, gc=False):
    """A row of the update-import (`mode=update`): the device by its tag, and what changes;
    an empty cell keeps the stored value. Its fields are the update's columns."""

    asset_tag: Code
    condition: Condition | UnsetType = UNSET


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

    note: Note | None = None
    sim: Code | None = None
    school_id: int | None = None
    condition: Condition | None = None
    reason: Reason | None = None
    # Allocation over a school's quota (province officers and admins).
    override: bool = False


class ActionResult(msgspec.Struct):
    device: DeviceRead
    action: str
    event_id: int

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, length_checks, one_of, timestamp, updated_at
from devicetrack.devices import limits
from devicetrack.devices.limits import LENGTHS
from devicetrack.devices.values import ActivationLock, Carrier, Condition, DeviceKind, DeviceStatus


class Device(SQLModel, table=True):
    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint(one_of("kind", DeviceKind), name="kind_known"),
        CheckConstraint(one_of("status", DeviceStatus), name="status_known"),
        CheckConstraint(one_of("condition", Condition), name="condition_known"),
        CheckConstraint(
            one_of("repair_return_status", DeviceStatus), name="repair_return_status_known"
        ),
        CheckConstraint("imei ~ '^[0-9]{15}$'", name="imei_format"),
        CheckConstraint("iccid ~ '^89[0-9]{16,18}$'", name="iccid_format"),
        CheckConstraint("kind <> 'sim' OR iccid IS NOT NULL", name="sim_has_iccid"),
        CheckConstraint("kind = 'sim' OR installed_in_id IS NULL", name="only_sims_install"),
        CheckConstraint(one_of("carrier", Carrier), name="carrier_known"),
        *length_checks("devices", LENGTHS),
        # Intake facts of used devices (migration 0022), bounded as devices/limits.py says.
        CheckConstraint(one_of("activation_lock", ActivationLock), name="activation_lock_known"),
        CheckConstraint(
            f"storage_gb BETWEEN {limits.STORAGE_GB_MIN} AND {limits.STORAGE_GB_MAX}",
            name="storage_gb_range",
        ),
        CheckConstraint(f"ram_gb > 0 AND ram_gb <= {limits.RAM_GB_MAX}", name="ram_gb_range"),
        CheckConstraint(
            f"battery_health_pct BETWEEN {limits.BATTERY_PCT_MIN} AND {limits.BATTERY_PCT_MAX}",
            name="battery_health_pct_range",
        ),
        # A serial is unique per make (case-insensitive make, missing make counts as one).
        Index(
            "uq_devices_make_serial",
            text("lower(coalesce(make, ''))"),
            "serial",
            unique=True,
            postgresql_where=text("serial IS NOT NULL"),
        ),
        # Lookups by serial alone, in any case (scan box, search); see migration 0009.
        Index(
            "ix_devices_serial_upper",
            text("upper(serial)"),
            postgresql_where=text("serial IS NOT NULL"),
        ),
        # A device holds at most one SIM.
        Index(
            "uq_devices_installed_in_id",
            "installed_in_id",
            unique=True,
            postgresql_where=text("installed_in_id IS NOT NULL"),
        ),
        # Partial: a device in province stock has no school and needs no entry (0008).
        Index(
            "ix_devices_school_status",
            "school_id",
            "status",
            postgresql_where=text("school_id IS NOT NULL"),
        ),
        # IMEI and ICCID are unique where given; partial so the many devices without one
        # write no index entry (0008).
        Index("uq_devices_imei", "imei", unique=True, postgresql_where=text("imei IS NOT NULL")),
        Index("uq_devices_iccid", "iccid", unique=True, postgresql_where=text("iccid IS NOT NULL")),
        ForeignKeyConstraint(
            ["donation_id", "donor_id", "province_code"],
            ["donations.id", "donations.donor_id", "donations.province_code"],
            name="fk_devices_donation",
        ),
        Index("ix_devices_province_status_kind", "province_code", "status", "kind"),
        # A donor's and a donation's devices, page after page in id order (0037); the other
        # indexes of 0037 are partial or need pg_trgm, and live in the migration only.
        Index(
            "ix_devices_donor_id_id",
            "donor_id",
            "id",
            postgresql_include=[
                "kind",
                "status",
                "condition",
                "activation_lock",
                "school_id",
                "plan_expires_on",
            ],
        ),
        Index("ix_devices_donation_id_id", "donation_id", "id", postgresql_include=["kind"]),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    asset_tag: str = Field(sa_type=String(16), unique=True)
    province_code: str = Field(sa_type=String(2))
    kind: str
    make: str | None = None
    model: str | None = None
    serial: str | None = None
    imei: str | None = None
    status: str = "in_stock"
    condition: str = "new"
    donation_id: int = Field(sa_column=Column(Integer, nullable=False))
    donor_id: int = Field(sa_column=Column(Integer, nullable=False))
    school_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("schools.id"), nullable=True)
    )
    student_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("students.id"), nullable=True)
    )
    # Where a device in repair returns to (its status before send-to-repair).
    repair_return_status: str | None = None
    # A returned laptop/tablet/smartphone must be reset before it is lent again.
    needs_wipe: bool = False
    received_at: datetime | None = created_at()
    last_seen_at: datetime | None = timestamp()
    warranty_until: date | None = None
    note: str | None = None
    # What intake found on a used device: still locked to an account, and its specs.
    activation_lock: str = Field(
        default=ActivationLock.UNKNOWN,
        sa_column=Column(String, nullable=False, server_default=ActivationLock.UNKNOWN.value),
    )
    storage_gb: int | None = None
    ram_gb: Decimal | None = Field(default=None, sa_column=Column(Numeric(6, 1)))
    battery_health_pct: int | None = Field(default=None, sa_column=Column(SmallInteger))
    # SIM fields (kind = sim)
    iccid: str | None = None
    msisdn: str | None = None
    carrier: str | None = None
    plan_name: str | None = None
    plan_quota_gb: Decimal | None = Field(default=None, sa_column=Column(Numeric(8, 2)))
    plan_expires_on: date | None = None
    paid_by: str | None = None
    installed_in_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("devices.id"), nullable=True)
    )
    created_at: datetime | None = created_at()
    updated_at: datetime | None = updated_at()


class DeviceEvent(SQLModel, table=True):
    """Append-only history of every device; a trigger refuses UPDATE and DELETE."""

    __tablename__ = "device_events"
    __table_args__ = (Index("ix_device_events_device_id_id", "device_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    device_id: int = Field(sa_column=Column(BigInteger, ForeignKey("devices.id"), nullable=False))
    at: datetime | None = created_at()
    actor_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    action: str
    from_status: str | None = None
    to_status: str | None = None
    school_id: int | None = None
    student_id: int | None = None
    condition: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))

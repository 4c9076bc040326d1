from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, one_of
from devicetrack.devices.values import DeviceKind


class Allocation(SQLModel, table=True):
    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint(one_of("kind", DeviceKind), name="kind_known"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("schools.id"), nullable=False, index=True)
    )
    province_code: str = Field(sa_type=String(2), sa_column_args=[ForeignKey("provinces.code")])
    kind: str | None = None
    quantity: int
    donation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("donations.id"), nullable=True)
    )
    override: bool = False
    note: str | None = None
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    created_at: datetime | None = created_at()


class AllocationDevice(SQLModel, table=True):
    __tablename__ = "allocation_devices"

    allocation_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("allocations.id", ondelete="CASCADE"), primary_key=True
        )
    )
    device_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("devices.id"), primary_key=True, index=True)
    )


QUOTA_UNIQUE = "uq_school_quotas_school_kind_donation"


class SchoolQuota(SQLModel, table=True):
    """How many devices of a kind (optionally from one donation) a school may hold."""

    __tablename__ = "school_quotas"
    __table_args__ = (
        CheckConstraint(one_of("kind", DeviceKind), name="kind_known"),
        CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
        # One quota per school, kind and donation, and one without a donation: NULLS NOT
        # DISTINCT makes the null donation a value. A named constraint, so the upsert names
        # it (migration 0013 says why an expression index broke under generic plans).
        UniqueConstraint(
            "school_id",
            "kind",
            "donation_id",
            name=QUOTA_UNIQUE,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("schools.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str
    donation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("donations.id"), nullable=True)
    )
    quantity: int

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, text
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


class SchoolQuota(SQLModel, table=True):
    """How many devices of a kind (optionally from one donation) a school may hold."""

    __tablename__ = "school_quotas"
    __table_args__ = (
        CheckConstraint(one_of("kind", DeviceKind), name="kind_known"),
        CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
        Index(
            "uq_school_quotas_school_kind_donation",
            "school_id",
            "kind",
            text("coalesce(donation_id, 0)"),
            unique=True,
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

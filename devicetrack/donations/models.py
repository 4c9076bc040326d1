from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, length_checks, one_of
from devicetrack.devices.values import DeviceKind
from devicetrack.donations.limits import BATCH_MAX, LENGTHS


class Donation(SQLModel, table=True):
    __tablename__ = "donations"
    __table_args__ = (
        UniqueConstraint("donor_id", "reference"),
        UniqueConstraint("id", "donor_id", "province_code"),
        *length_checks("donations", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("donors.id"), nullable=False, index=True)
    )
    province_code: str = Field(
        sa_type=String(2), sa_column_args=[ForeignKey("provinces.code")], index=True
    )
    reference: str
    received_on: date | None = None
    note: str | None = None
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    created_at: datetime | None = created_at()


class DonationCounts(SQLModel, table=True):
    """A donation's devices, kept by triggers on devices (migration 0044): the donations
    list reads it instead of counting each donation's devices."""

    __tablename__ = "donation_counts"

    donation_id: int = Field(primary_key=True)
    devices: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class PledgedLine(SQLModel, table=True):
    __tablename__ = "donation_lines"
    __table_args__ = (
        CheckConstraint(one_of("kind", DeviceKind), name="kind_known"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        *length_checks("donation_lines", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    donation_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("donations.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str
    quantity: int
    model: str | None = None


class TagSequence(SQLModel, table=True):
    """The last asset-tag sequence number used per province. Taking numbers is an UPDATE of
    this row, which locks it until commit: concurrent intakes get consecutive, gapless
    ranges, and a rolled-back intake gives its numbers back."""

    __tablename__ = "tag_sequences"

    province_code: str = Field(
        sa_type=String(2), primary_key=True, sa_column_args=[ForeignKey("provinces.code")]
    )
    last_value: int = 0


class LabelBatch(SQLModel, table=True):
    """Tags reserved for pre-printed labels: sequence numbers first_sequence …
    first_sequence + count - 1 of the province, bound to devices at intake."""

    __tablename__ = "label_batches"
    __table_args__ = (
        CheckConstraint(f"count > 0 AND count <= {BATCH_MAX}", name="count_range"),
        *length_checks("label_batches", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    province_code: str = Field(sa_type=String(2), sa_column_args=[ForeignKey("provinces.code")])
    first_sequence: int
    count: int
    note: str | None = None
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    created_at: datetime | None = created_at()

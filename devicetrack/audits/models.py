from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from devicetrack.audits.limits import LENGTHS
from devicetrack.db.columns import created_at, length_checks, one_of, timestamp
from devicetrack.devices.values import Condition, DeviceStatus


class Audit(SQLModel, table=True):
    """A stocktake at a school. The expected set is frozen at start (audit_expected)."""

    __tablename__ = "audits"
    __table_args__ = (
        Index("ix_audits_school_closed", "school_id", "closed_at"),
        *length_checks("audits", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(sa_column=Column(Integer, ForeignKey("schools.id"), nullable=False))
    location: str | None = None
    include_assigned: bool = True
    started_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    started_at: datetime | None = created_at()
    closed_at: datetime | None = timestamp()
    closed_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    # The frozen result, written at close.
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))


class AuditExpected(SQLModel, table=True):
    __tablename__ = "audit_expected"
    __table_args__ = (
        CheckConstraint(one_of("status_at_start", DeviceStatus), name="status_at_start_known"),
    )

    audit_id: int = Field(
        sa_column=Column(Integer, ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True)
    )
    device_id: int = Field(sa_column=Column(BigInteger, ForeignKey("devices.id"), primary_key=True))
    status_at_start: str


class AuditScan(SQLModel, table=True):
    """Every scan is kept (the audit's log); the latest scan of a tag decides."""

    __tablename__ = "audit_scans"
    __table_args__ = (
        Index("ix_audit_scans_audit_code", "audit_id", "code"),
        CheckConstraint(one_of("condition", Condition), name="condition_known"),
        *length_checks("audit_scans", LENGTHS),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    audit_id: int = Field(
        sa_column=Column(Integer, ForeignKey("audits.id", ondelete="CASCADE"), nullable=False)
    )
    # The canonical tag when the code was a tag; otherwise what was typed.
    code: str
    device_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("devices.id"), nullable=True)
    )
    condition: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    location: str | None = None
    scanned_at: datetime = timestamp(nullable=False)
    received_at: datetime | None = created_at()
    scanned_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )

"""Counter tables kept by database triggers (migration 0004); the application only reads
them. See migrations 0004 and 0007 for how each figure is maintained."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel


def _school_fk() -> Column[int]:
    return Column(Integer, ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)


class SchoolCounts(SQLModel, table=True):
    __tablename__ = "school_counts"

    school_id: int = Field(sa_column=_school_fk())
    devices_held: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    devices_working: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    students_with_device: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    priority_with_device: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Held devices still on their way: allocated to the school, not yet received (0017).
    devices_incoming: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The school's last closed audit (0007), so roll-ups need not read `audits`.
    last_audit_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class SchoolSeen(SQLModel, table=True):
    """Devices held per school by the day they were last seen (or received)."""

    __tablename__ = "school_seen"

    school_id: int = Field(sa_column=_school_fk())
    seen_on: date = Field(primary_key=True)
    devices: int
    # The school's keys, copied in by trigger (0007) so roll-ups group without a join.
    province_code: str = Field(sa_type=String(2))
    commune_code: str = Field(sa_type=String(5))
    active: bool


class SchoolConnected(SQLModel, table=True):
    """Active students per school by the last day their SIM data plan runs."""

    __tablename__ = "school_connected"

    school_id: int = Field(sa_column=_school_fk())
    until: date = Field(primary_key=True)
    students: int
    # The school's keys, copied in by trigger (0007) so roll-ups group without a join.
    province_code: str = Field(sa_type=String(2))
    commune_code: str = Field(sa_type=String(5))
    active: bool


class StockCounts(SQLModel, table=True):
    __tablename__ = "stock_counts"

    province_code: str = Field(sa_type=String(2), primary_key=True)
    kind: str = Field(primary_key=True)
    devices: int


class DonorStudents(SQLModel, table=True):
    """The students a donor's devices have reached (migration 0040): one row per donor,
    student and the devices' province, with the student's loans of them still open."""

    __tablename__ = "donor_students"

    donor_id: int = Field(primary_key=True)
    student_id: int = Field(primary_key=True)
    province_code: str = Field(sa_type=String(2), primary_key=True)
    open_loans: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

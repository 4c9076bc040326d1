"""Counter tables kept by database triggers (migration 0004); the application only reads
them. See the migration for how each figure is maintained."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel


def _school_fk() -> Column:  # type: ignore[type-arg]
    return Column(Integer, ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)


class SchoolCounts(SQLModel, table=True):
    __tablename__ = "school_counts"

    school_id: int = Field(sa_column=_school_fk())
    devices_held: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    devices_working: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    students_with_device: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    priority_with_device: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class SchoolSeen(SQLModel, table=True):
    """Devices held per school by the day they were last seen (or received)."""

    __tablename__ = "school_seen"

    school_id: int = Field(sa_column=_school_fk())
    seen_on: date = Field(primary_key=True)
    devices: int


class SchoolConnected(SQLModel, table=True):
    """Active students per school by the last day their SIM data plan runs."""

    __tablename__ = "school_connected"

    school_id: int = Field(sa_column=_school_fk())
    until: date = Field(primary_key=True)
    students: int


class StockCounts(SQLModel, table=True):
    __tablename__ = "stock_counts"

    province_code: str = Field(sa_type=String(2), primary_key=True)
    kind: str = Field(primary_key=True)
    devices: int

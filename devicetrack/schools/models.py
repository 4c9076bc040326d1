from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, each_one_of, length_checks, updated_at
from devicetrack.schools.limits import CODE, LENGTHS
from devicetrack.schools.values import SchoolLevel


class School(SQLModel, table=True):
    __tablename__ = "schools"
    __table_args__ = (
        ForeignKeyConstraint(
            ["commune_code", "province_code"],
            ["communes.code", "communes.province_code"],
            name="fk_schools_commune_in_province",
        ),
        CheckConstraint(each_one_of("levels", SchoolLevel), name="levels_known"),
        *length_checks("schools", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(CODE), unique=True)
    name: str
    province_code: str = Field(
        sa_type=String(2), sa_column_args=[ForeignKey("provinces.code")], index=True
    )
    commune_code: str = Field(sa_type=String(5), index=True)
    levels: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    former_district: str | None = None
    address: str | None = None
    active: bool = True
    created_at: datetime | None = created_at()
    updated_at: datetime | None = updated_at()


class Enrolment(SQLModel, table=True):
    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("school_id", "school_year"),
        CheckConstraint("school_year ~ '^[0-9]{4}-[0-9]{4}$'", name="school_year_format"),
        CheckConstraint("students_total >= 0", name="students_total_nonnegative"),
        CheckConstraint(
            "priority_students >= 0 AND priority_students <= students_total",
            name="priority_within_total",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("schools.id", ondelete="CASCADE"), nullable=False)
    )
    school_year: str = Field(sa_type=String(9))
    students_total: int
    priority_students: int = 0
    updated_at: datetime | None = updated_at()

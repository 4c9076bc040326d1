from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import (
    created_at,
    each_one_of,
    length_checks,
    one_of,
    timestamp,
    updated_at,
)
from devicetrack.devices.values import Condition
from devicetrack.students.limits import GRADE_MAX, GRADE_MIN, LENGTHS
from devicetrack.students.values import ConsentMethod, ConsentSubject, PriorityFlag, StudentStatus


class Student(SQLModel, table=True):
    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("school_id", "student_code"),
        CheckConstraint(f"grade BETWEEN {GRADE_MIN} AND {GRADE_MAX}", name="grade_range"),
        CheckConstraint(one_of("status", StudentStatus), name="status_known"),
        CheckConstraint("national_id ~ '^[0-9]{12}$'", name="national_id_format"),
        CheckConstraint(each_one_of("priority", PriorityFlag), name="priority_known"),
        *length_checks("students", LENGTHS),
        Index(
            "ix_students_left_at_not_erased",
            "left_at",
            postgresql_where=text("left_at IS NOT NULL AND erased_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("schools.id"), nullable=False, index=True)
    )
    student_code: str
    # Personal data: returned only to the school's staff and admins; erased on request.
    national_id: str | None = None
    full_name: str | None = None
    birth_year: int | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None
    grade: int
    class_name: str | None = None
    priority: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    status: str = "active"
    # Kept by the coverage triggers (migration 0004): does the student hold a non-SIM
    # device on loan, and until when is one of their loaned devices connected.
    has_device: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    connected_until: date | None = None
    # When the student stopped being active; kept by a trigger (migration 0012) and read by
    # the retention sweep (privacy/service.py).
    left_at: datetime | None = timestamp()
    erased_at: datetime | None = timestamp()
    created_at: datetime | None = created_at()
    updated_at: datetime | None = updated_at()


class Consent(SQLModel, table=True):
    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(one_of("method", ConsentMethod), name="method_known"),
        CheckConstraint(one_of("subject", ConsentSubject), name="subject_known"),
        *length_checks("consents", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("students.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    # 'guardian', or 'child' for the student's own consent (recorded from age 7).
    subject: str = "guardian"
    given_by: str | None = None
    method: str
    evidence: str | None = None
    given_at: date
    withdrawn_at: datetime | None = timestamp()
    recorded_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    created_at: datetime | None = created_at()


class Assignment(SQLModel, table=True):
    """A loan of a device to a student. The partial unique index makes the database refuse
    a second open loan of one device, whatever the application does."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index(
            "uq_assignments_open_device",
            "device_id",
            unique=True,
            postgresql_where=text("returned_at IS NULL"),
        ),
        Index("ix_assignments_student_open", "student_id", "returned_at"),
        Index("ix_assignments_school_open", "school_id", "returned_at"),
        CheckConstraint(one_of("condition_out", Condition), name="condition_out_known"),
        CheckConstraint(one_of("condition_in", Condition), name="condition_in_known"),
        *length_checks("assignments", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(sa_column=Column(BigInteger, ForeignKey("devices.id"), nullable=False))
    student_id: int = Field(sa_column=Column(Integer, ForeignKey("students.id"), nullable=False))
    school_id: int = Field(sa_column=Column(Integer, ForeignKey("schools.id"), nullable=False))
    assigned_at: datetime | None = created_at()
    assigned_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    condition_out: str
    due_back_on: date | None = None
    returned_at: datetime | None = timestamp()
    returned_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("users.id"), nullable=True)
    )
    condition_in: str | None = None
    wiped: bool | None = None
    note: str | None = None

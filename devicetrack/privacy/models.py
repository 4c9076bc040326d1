from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Identity, Index, Integer, Text
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at


class StudentAccess(SQLModel, table=True):
    """One read of one student's personal fields: who, when, and through which route.
    Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE (migration 0012)."""

    __tablename__ = "student_access_log"
    __table_args__ = (
        Index("ix_student_access_log_student_id_id", "student_id", "id"),
        Index("ix_student_access_log_user_id_id", "user_id", "id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    at: datetime | None = created_at()
    # No foreign keys, on purpose: see migration 0012.
    user_id: int = Field(sa_column=Column(Integer, nullable=False))
    student_id: int = Field(sa_column=Column(Integer, nullable=False))
    # "GET /api/v1/students/42", "GET /schools/3/students", …: the path without its query
    # (a search's query may itself hold a name).
    route: str = Field(sa_column=Column(Text, nullable=False))

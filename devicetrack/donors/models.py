from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, length_checks, one_of
from devicetrack.donors.limits import LENGTHS
from devicetrack.donors.values import DonorKind


class Donor(SQLModel, table=True):
    __tablename__ = "donors"
    __table_args__ = (
        CheckConstraint(one_of("kind", DonorKind), name="kind_known"),
        *length_checks("donors", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    # Printed on labels, so it must stay short.
    short_name: str
    kind: str
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    country: str = "VN"
    created_at: datetime | None = created_at()

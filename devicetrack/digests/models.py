from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, one_of
from devicetrack.digests.values import Digest


class DigestOptOut(SQLModel, table=True):
    """A digest a user turned off. Every digest of a user's role is on unless a row here
    says otherwise, so a new user (and a new digest) needs no row."""

    __tablename__ = "digest_opt_outs"
    __table_args__ = (CheckConstraint(one_of("digest", Digest), name="digest_known"),)

    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    digest: str = Field(primary_key=True)
    created_at: datetime | None = created_at()

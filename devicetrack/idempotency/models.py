from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, one_of
from devicetrack.idempotency.values import Kept


class IdempotencyKey(SQLModel, table=True):
    """One caller's Idempotency-Key and the answer its request got, written in the same
    transaction as the request's change (so one never exists without the other).

    `kept` says what a repeat gets: 'answer' replays status, headers and body; 'streamed'
    (an answer sent as it was produced, never held whole) runs again; 'secret' (an answer
    carrying a secret shown only once) is refused, since the secret is not kept here."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        CheckConstraint("length(key) BETWEEN 1 AND 255", name="key_length"),
        CheckConstraint(one_of("kept", Kept), name="kept_known"),
        # Expired keys are swept oldest first.
        Index("ix_idempotency_keys_created_at", "created_at"),
        # Erasing a child finds the answers that name it (only those that name anyone).
        Index(
            "ix_idempotency_keys_student_ids",
            "student_ids",
            postgresql_using="gin",
            postgresql_where=text("student_ids <> '{}'"),
        ),
    )

    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    key: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    # sha256 hex of method, path, query and the body's sha256; or an argon2 hash of the
    # same when the body carries a password (see service.fingerprint).
    fingerprint: str = Field(sa_column=Column(Text, nullable=False))
    kept: str = Field(sa_column=Column(Text, nullable=False))
    status: int = Field(sa_column=Column(SmallInteger, nullable=False))
    headers: list[Any] = Field(sa_column=Column(JSONB, nullable=False))
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # The students whose personal fields the kept answer carries (privacy.students_shown):
    # a replay logs their reading again, and erasing one drops the answer (Kept.ERASED).
    student_ids: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Integer), nullable=False, server_default="{}"),
    )
    created_at: datetime | None = created_at()

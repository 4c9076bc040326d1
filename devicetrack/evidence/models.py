"""Evidence: a signature drawn on a phone, or a photo of the signed paper, kept with the
record it proves (an allocation's handover, a loan, a consent).

The table sits low in the layers (beside idempotency) because erasing a student must
forget the evidence of their loans and consents (students/service.erase_student); the
rules of who may add or read it are custody/evidence.py's. Each row names exactly one
record, and the school whose staff may read it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, length_checks, one_of
from devicetrack.evidence.limits import LENGTHS, MAX_BYTES
from devicetrack.evidence.values import EvidenceKind


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(one_of("kind", EvidenceKind), name="kind_known"),
        CheckConstraint(
            "num_nonnulls(allocation_id, assignment_id, consent_id) = 1", name="one_record"
        ),
        CheckConstraint(f"octet_length(content) BETWEEN 1 AND {MAX_BYTES}", name="content_size"),
        CheckConstraint(
            f"thumbnail IS NULL OR octet_length(thumbnail) BETWEEN 1 AND {MAX_BYTES}",
            name="thumbnail_size",
        ),
        # Only what the upload's first bytes proved (custody/evidence.py): never HTML or SVG.
        CheckConstraint("media_type ~ '^image/(png|jpeg)$'", name="media_type_image"),
        *length_checks("evidence", LENGTHS),
        Index(
            "ix_evidence_allocation_id",
            "allocation_id",
            postgresql_where=text("allocation_id IS NOT NULL"),
        ),
        Index(
            "ix_evidence_assignment_id",
            "assignment_id",
            postgresql_where=text("assignment_id IS NOT NULL"),
        ),
        Index(
            "ix_evidence_consent_id", "consent_id", postgresql_where=text("consent_id IS NOT NULL")
        ),
        Index(
            "ix_evidence_student_id", "student_id", postgresql_where=text("student_id IS NOT NULL")
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    school_id: int = Field(
        sa_column=Column(Integer, ForeignKey("schools.id"), nullable=False, index=True)
    )
    allocation_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("allocations.id", ondelete="CASCADE"), nullable=True),
    )
    assignment_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("assignments.id", ondelete="CASCADE"), nullable=True),
    )
    consent_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("consents.id", ondelete="CASCADE"), nullable=True),
    )
    # The student a loan's or consent's evidence is about: erasing them deletes it.
    student_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("students.id"), nullable=True)
    )
    kind: str = Field(sa_column=Column(Text, nullable=False))
    # image/png or image/jpeg, judged from the content's first bytes when it was stored.
    media_type: str = Field(sa_column=Column(Text, nullable=False))
    width: int = Field(sa_column=Column(Integer, nullable=False))
    height: int = Field(sa_column=Column(Integer, nullable=False))
    signer: str | None = None
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The pages' small copy (custody/evidence.thumbnail), made from `content` the first time
    # it is asked for and kept: the content never changes, so neither does its copy, and a
    # list shown again does not decode the photos again. Null until then, and for a file
    # small enough to be sent as it is.
    thumbnail: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime | None = created_at()

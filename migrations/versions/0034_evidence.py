"""evidence: signatures drawn on a phone and photos of signed paper, kept with the record

Every transfer of public equipment in Vietnam is recorded on signed paper. A school now
keeps the proof with the record it proves: the handover minutes of an allocation, a loan
agreement, a guardian's consent. One new table, `evidence`:

- exactly one of allocation_id, assignment_id, consent_id (CHECK `num_nonnulls(...) = 1`),
  each with a partial index, deleted with its record (ON DELETE CASCADE);
- school_id (whose staff may read it) and student_id (a loan's or consent's student:
  erasing the student deletes their evidence, as personal data);
- the image in `content` (bytea, TOASTed out of line, compressed where it helps): at most
  5 MiB (CHECK), of media type image/png or image/jpeg only (CHECK) — what the upload's
  first bytes proved and Pillow decoded; never HTML or SVG;
- kind (signature, photo; a literal snapshot of evidence.values.EvidenceKind), width,
  height, signer (at most 200 characters), created_by, created_at.

A new, empty table: no lock on any existing table beyond the foreign keys' brief ones.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("allocation_id", sa.Integer(), nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("consent_id", sa.Integer(), nullable=True),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("signer", sa.String(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_evidence_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.id"],
            name=op.f("fk_evidence_allocation_id_allocations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_evidence_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
            name=op.f("fk_evidence_consent_id_consents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_evidence_student_id_students")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_evidence_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint("kind IN ('signature', 'photo')", name=op.f("ck_evidence_kind_known")),
        sa.CheckConstraint(
            "num_nonnulls(allocation_id, assignment_id, consent_id) = 1",
            name=op.f("ck_evidence_one_record"),
        ),
        sa.CheckConstraint(
            "octet_length(content) BETWEEN 1 AND 5242880", name=op.f("ck_evidence_content_size")
        ),
        sa.CheckConstraint(
            "media_type ~ '^image/(png|jpeg)$'", name=op.f("ck_evidence_media_type_image")
        ),
        sa.CheckConstraint("char_length(signer) <= 200", name=op.f("ck_evidence_signer_length")),
    )
    op.create_index("ix_evidence_school_id", "evidence", ["school_id"])
    for column in ("allocation_id", "assignment_id", "consent_id", "student_id"):
        op.create_index(
            f"ix_evidence_{column}",
            "evidence",
            [column],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )


def downgrade() -> None:
    op.drop_table("evidence")

"""idempotency_keys: which students a kept answer names, and the 'erased' answer

A kept answer of a keyed request (createStudent, updateStudent, createAssignment, …) carries
the child's personal fields for the 24 h retention. Two things follow from the privacy rules
(Law 91/2025): replaying it shows the child again, so it must write the access log as the
first answer did, and erasing the child must not leave a copy here. `student_ids` names
the students the answer carries (empty for every other answer); erasure turns those rows
into 'erased' ones: body and headers dropped, the row kept so that a repeat with the same
key is refused (409) rather than carried out a second time.

The GIN index is partial: only answers that name someone are looked up by erasure.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "idempotency_keys",
        sa.Column(
            "student_ids", postgresql.ARRAY(sa.Integer()), nullable=False, server_default="{}"
        ),
    )
    op.create_index(
        "ix_idempotency_keys_student_ids",
        "idempotency_keys",
        ["student_ids"],
        postgresql_using="gin",
        postgresql_where=sa.text("student_ids <> '{}'"),
    )
    # One statement: the column is never unguarded (the table is small, 24 h of keys).
    op.execute(
        "ALTER TABLE idempotency_keys DROP CONSTRAINT ck_idempotency_keys_kept_known,"
        " ADD CONSTRAINT ck_idempotency_keys_kept_known"
        " CHECK (kept IN ('answer', 'streamed', 'secret', 'erased'))"
    )


def downgrade() -> None:
    # An erased answer cannot come back: such rows become refusals of a secret's kind.
    op.execute("UPDATE idempotency_keys SET kept = 'secret' WHERE kept = 'erased'")
    op.execute(
        "ALTER TABLE idempotency_keys DROP CONSTRAINT ck_idempotency_keys_kept_known,"
        " ADD CONSTRAINT ck_idempotency_keys_kept_known"
        " CHECK (kept IN ('answer', 'streamed', 'secret'))"
    )
    op.drop_index("ix_idempotency_keys_student_ids", table_name="idempotency_keys")
    op.drop_column("idempotency_keys", "student_ids")

"""mail_messages: which students a message names, so that erasing a child erases its mail

The weekly overdue-loans digest names students to their school's staff. A message is kept
in mail_messages: its context until it is sent, and, in the outbox (no SMTP server), its
rendered text for admins to read. Erasing a child (by staff, or the retention sweep) must not
leave a copy there. `student_ids` names the students a message carries (empty for every
other message); erasure drops their context and bodies and marks a message not yet sent as
failed ('erased'), so it is never sent.

The column's constant default is a catalogue change (no rewrite of the table); the GIN index
is partial: only messages that name someone are looked up by erasure.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "mail_messages",
        sa.Column(
            "student_ids", postgresql.ARRAY(sa.Integer()), nullable=False, server_default="{}"
        ),
    )
    op.create_index(
        "ix_mail_messages_student_ids",
        "mail_messages",
        ["student_ids"],
        postgresql_using="gin",
        postgresql_where=sa.text("student_ids <> '{}'"),
    )


def downgrade() -> None:
    op.drop_index("ix_mail_messages_student_ids", table_name="mail_messages")
    op.drop_column("mail_messages", "student_ids")

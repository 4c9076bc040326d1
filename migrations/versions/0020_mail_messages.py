"""mail_messages: every email, its state and its last error; the outbox without SMTP

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("locale", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("transport", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("context", postgresql.JSONB(), nullable=True),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("text_body", sa.String(), nullable=True),
        sa.Column("html_body", sa.String(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mail_messages"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_mail_messages_user_id_users", ondelete="SET NULL"
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed')", name="ck_mail_messages_status_known"
        ),
        sa.CheckConstraint(
            "transport IN ('smtp', 'outbox')", name="ck_mail_messages_transport_known"
        ),
    )
    op.create_index("ix_mail_messages_user_id", "mail_messages", ["user_id"])
    op.create_index("ix_mail_messages_status", "mail_messages", ["status", "id"])


def downgrade() -> None:
    op.drop_table("mail_messages")

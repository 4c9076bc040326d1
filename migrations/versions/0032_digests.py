"""digests: each user's opt-outs of the scheduled digests, and files attached to email

The digests (SIMs expiring, overdue loans, audits due, donor impact) go to everyone whose
role receives them unless they turned one off on the account page, so what is stored is
the exception: `digest_opt_outs` holds one row per user and digest turned off (all on by
default, and a new digest reaches everyone without a data migration). The digest's name
is held by a list CHECK, a literal snapshot of digests.values.Digest.

`mail_attachments` holds the files a message carries (the SIM list as XLSX for officers,
the donor's impact report as PDF) until it is sent: composed in the job's transaction
with the message, read by the send job, deleted once an SMTP server took the message
(the outbox keeps them, as it keeps the text). Both tables are new and empty: no lock on
an existing table beyond the foreign keys' brief ones on users and mail_messages.

Revision ID: 0032
Revises: 0022
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# devicetrack/digests/values.py Digest on 2026-12-01.
DIGESTS = "'sims_expiring', 'overdue_loans', 'audits_due', 'donor_impact'"


def upgrade() -> None:
    op.create_table(
        "digest_opt_outs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("user_id", "digest", name="pk_digest_opt_outs"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_digest_opt_outs_user_id_users", ondelete="CASCADE"
        ),
        sa.CheckConstraint(f"digest IN ({DIGESTS})", name="ck_digest_opt_outs_digest_known"),
    )
    op.create_table(
        "mail_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mail_attachments"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["mail_messages.id"],
            name="fk_mail_attachments_message_id_mail_messages",
            ondelete="CASCADE",
        ),
        # Our own code names attachments (sims-list.xlsx); no reader types one, so there is
        # no limit of a body to mirror (tests/test_limits.py), only a name to require.
        sa.CheckConstraint("filename <> ''", name="ck_mail_attachments_filename_given"),
    )
    op.create_index("ix_mail_attachments_message_id", "mail_attachments", ["message_id"])


def downgrade() -> None:
    op.drop_table("mail_attachments")
    op.drop_table("digest_opt_outs")

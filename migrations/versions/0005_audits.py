"""audits: stocktakes at a school, the expected set frozen at start, and every scan kept.

Drafted with autogenerate, then reviewed: include_assigned gets a server default.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 00:30:26.489530
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("include_assigned", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["users.id"], name=op.f("fk_audits_closed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_audits_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["started_by"], ["users.id"], name=op.f("fk_audits_started_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audits")),
    )
    op.create_index("ix_audits_school_closed", "audits", ["school_id", "closed_at"], unique=False)
    op.create_table(
        "audit_expected",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("status_at_start", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audits.id"],
            name=op.f("fk_audit_expected_audit_id_audits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_audit_expected_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("audit_id", "device_id", name=op.f("pk_audit_expected")),
    )
    op.create_table(
        "audit_scans",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=True),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("scanned_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audits.id"],
            name=op.f("fk_audit_scans_audit_id_audits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_audit_scans_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["scanned_by"], ["users.id"], name=op.f("fk_audit_scans_scanned_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_scans")),
    )
    op.create_index("ix_audit_scans_audit_code", "audit_scans", ["audit_id", "code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_scans_audit_code", table_name="audit_scans")
    op.drop_table("audit_scans")
    op.drop_table("audit_expected")
    op.drop_index("ix_audits_school_closed", table_name="audits")
    op.drop_table("audits")

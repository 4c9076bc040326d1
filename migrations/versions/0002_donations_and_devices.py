"""donations and devices: pledged lines, per-province tag sequences, label batches,
devices (with SIM fields) and the append-only device event history.

Drafted with autogenerate, then reviewed: server defaults for status/condition/sequence,
the tag sequence rows seeded for every province, a quantity check on SIM quotas, and a
trigger that refuses UPDATE and DELETE on device_events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:11:43.083782
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# History is evidence: once written, an event row is never changed or removed.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION refuse_change_to_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'device_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "tag_sequences",
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("last_value", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["provinces.code"],
            name=op.f("fk_tag_sequences_province_code_provinces"),
        ),
        sa.PrimaryKeyConstraint("province_code", name=op.f("pk_tag_sequences")),
    )
    op.create_table(
        "donations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_donations_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["donor_id"], ["donors.id"], name=op.f("fk_donations_donor_id_donors")
        ),
        sa.ForeignKeyConstraint(
            ["province_code"], ["provinces.code"], name=op.f("fk_donations_province_code_provinces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donations")),
        sa.UniqueConstraint("donor_id", "reference", name=op.f("uq_donations_donor_id_reference")),
        # Target of devices' composite foreign key (see below).
        sa.UniqueConstraint(
            "id", "donor_id", "province_code", name=op.f("uq_donations_id_donor_id_province_code")
        ),
    )
    op.create_index(op.f("ix_donations_donor_id"), "donations", ["donor_id"], unique=False)
    op.create_index(
        op.f("ix_donations_province_code"), "donations", ["province_code"], unique=False
    )
    op.create_table(
        "label_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("first_sequence", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "count > 0 AND count <= 100000", name=op.f("ck_label_batches_count_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_label_batches_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["provinces.code"],
            name=op.f("fk_label_batches_province_code_provinces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_batches")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("asset_tag", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("make", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("serial", sa.Text(), nullable=True),
        sa.Column("imei", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="in_stock", nullable=False),
        sa.Column("condition", sa.Text(), server_default="new", nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warranty_until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("iccid", sa.Text(), nullable=True),
        sa.Column("msisdn", sa.Text(), nullable=True),
        sa.Column("carrier", sa.Text(), nullable=True),
        sa.Column("plan_name", sa.Text(), nullable=True),
        sa.Column("plan_quota_gb", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("plan_expires_on", sa.Date(), nullable=True),
        sa.Column("paid_by", sa.Text(), nullable=True),
        sa.Column("installed_in_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("plan_quota_gb >= 0", name=op.f("ck_devices_quota_nonnegative")),
        sa.CheckConstraint(
            "carrier IN ('viettel','vinaphone','mobifone','other')",
            name=op.f("ck_devices_carrier_known"),
        ),
        sa.CheckConstraint(
            "condition IN ('new','good','fair','poor','broken')",
            name=op.f("ck_devices_condition_known"),
        ),
        sa.CheckConstraint("iccid ~ '^89[0-9]{16,18}$'", name=op.f("ck_devices_iccid_format")),
        sa.CheckConstraint("imei ~ '^[0-9]{15}$'", name=op.f("ck_devices_imei_format")),
        sa.CheckConstraint(
            "kind <> 'sim' OR iccid IS NOT NULL", name=op.f("ck_devices_sim_has_iccid")
        ),
        sa.CheckConstraint(
            "kind = 'sim' OR installed_in_id IS NULL", name=op.f("ck_devices_only_sims_install")
        ),
        sa.CheckConstraint(
            "kind IN ('laptop','desktop','tablet','smartphone','sim','router','other')",
            name=op.f("ck_devices_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('in_stock','allocated','at_school','assigned','in_repair','lost',"
            "'stolen','retired')",
            name=op.f("ck_devices_status_known"),
        ),
        # One composite key instead of three: a device's donor and province are always its
        # donation's, and each foreign key costs a trigger call per inserted row (measured:
        # ~0.75 s per key per 100,000 devices).
        sa.ForeignKeyConstraint(
            ["donation_id", "donor_id", "province_code"],
            ["donations.id", "donations.donor_id", "donations.province_code"],
            name="fk_devices_donation",
        ),
        sa.ForeignKeyConstraint(
            ["installed_in_id"], ["devices.id"], name=op.f("fk_devices_installed_in_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_devices_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("asset_tag", name=op.f("uq_devices_asset_tag")),
        sa.UniqueConstraint("iccid", name=op.f("uq_devices_iccid")),
        sa.UniqueConstraint("imei", name=op.f("uq_devices_imei")),
    )
    op.create_index(op.f("ix_devices_donation_id"), "devices", ["donation_id"], unique=False)
    op.create_index(op.f("ix_devices_donor_id"), "devices", ["donor_id"], unique=False)
    op.create_index(
        "ix_devices_province_status_kind",
        "devices",
        ["province_code", "status", "kind"],
        unique=False,
    )
    op.create_index("ix_devices_school_status", "devices", ["school_id", "status"], unique=False)
    op.create_index(
        "uq_devices_installed_in_id",
        "devices",
        ["installed_in_id"],
        unique=True,
        postgresql_where=sa.text("installed_in_id IS NOT NULL"),
    )
    op.create_index(
        "uq_devices_make_serial",
        "devices",
        [sa.literal_column("lower(coalesce(make, ''))"), "serial"],
        unique=True,
        postgresql_where=sa.text("serial IS NOT NULL"),
    )
    op.create_table(
        "donation_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('laptop','desktop','tablet','smartphone','sim','router','other')",
            name=op.f("ck_donation_lines_kind_known"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_donation_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["donation_id"],
            ["donations.id"],
            name=op.f("fk_donation_lines_donation_id_donations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donation_lines")),
    )
    op.create_index(
        op.f("ix_donation_lines_donation_id"), "donation_lines", ["donation_id"], unique=False
    )
    op.create_table(
        "device_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_device_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_events_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_events")),
    )
    op.create_index(
        "ix_device_events_device_id_id", "device_events", ["device_id", "id"], unique=False
    )
    op.execute(
        "INSERT INTO tag_sequences (province_code, last_value) SELECT code, 0 FROM provinces"
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER device_events_append_only BEFORE UPDATE OR DELETE ON device_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change_to_history()"
    )
    op.execute(
        "CREATE TRIGGER device_events_no_truncate BEFORE TRUNCATE ON device_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_history()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS device_events_no_truncate ON device_events")
    op.execute("DROP TRIGGER IF EXISTS device_events_append_only ON device_events")
    op.execute("DROP FUNCTION IF EXISTS refuse_change_to_history()")
    op.drop_index("ix_device_events_device_id_id", table_name="device_events")
    op.drop_table("device_events")
    op.drop_index(op.f("ix_donation_lines_donation_id"), table_name="donation_lines")
    op.drop_table("donation_lines")
    op.drop_index(
        "uq_devices_make_serial",
        table_name="devices",
        postgresql_where=sa.text("serial IS NOT NULL"),
    )
    op.drop_index(
        "uq_devices_installed_in_id",
        table_name="devices",
        postgresql_where=sa.text("installed_in_id IS NOT NULL"),
    )
    op.drop_index("ix_devices_school_status", table_name="devices")
    op.drop_index("ix_devices_province_status_kind", table_name="devices")
    op.drop_index(op.f("ix_devices_donor_id"), table_name="devices")
    op.drop_index(op.f("ix_devices_donation_id"), table_name="devices")
    op.drop_table("devices")
    op.drop_table("label_batches")
    op.drop_index(op.f("ix_donations_province_code"), table_name="donations")
    op.drop_index(op.f("ix_donations_donor_id"), table_name="donations")
    op.drop_table("donations")
    op.drop_table("tag_sequences")

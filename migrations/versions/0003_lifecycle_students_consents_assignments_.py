"""lifecycle: students, consents, assignments (one open loan per device, enforced by a
partial unique index), allocations with their devices, school quotas, and the device
columns the state machine needs (student, where a repair returns to, needs_wipe).

Drafted with autogenerate, then reviewed: server defaults added for the new NOT NULL
columns so the migration runs on a populated devices table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:23:12.114619
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=True),
        sa.Column("override", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_allocations_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["donation_id"], ["donations.id"], name=op.f("fk_allocations_donation_id_donations")
        ),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["provinces.code"],
            name=op.f("fk_allocations_province_code_provinces"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_allocations_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    op.create_index(op.f("ix_allocations_school_id"), "allocations", ["school_id"], unique=False)
    op.create_table(
        "school_quotas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('laptop','desktop','tablet','smartphone','sim','router','other')",
            name=op.f("ck_school_quotas_kind_known"),
        ),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_school_quotas_quantity_nonnegative")),
        sa.ForeignKeyConstraint(
            ["donation_id"], ["donations.id"], name=op.f("fk_school_quotas_donation_id_donations")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_school_quotas_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_quotas")),
    )
    op.create_index(
        "uq_school_quotas_school_kind_donation",
        "school_quotas",
        ["school_id", "kind", sa.literal_column("coalesce(donation_id, 0)")],
        unique=True,
    )
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("student_code", sa.Text(), nullable=False),
        sa.Column("national_id", sa.Text(), nullable=True),
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("guardian_name", sa.Text(), nullable=True),
        sa.Column("guardian_phone", sa.Text(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("class_name", sa.Text(), nullable=True),
        sa.Column("priority", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "national_id ~ '^[0-9]{12}$'", name=op.f("ck_students_national_id_format")
        ),
        sa.CheckConstraint(
            "priority <@ ARRAY['poor_household','ethnic_minority','disability','remote']",
            name=op.f("ck_students_priority_known"),
        ),
        sa.CheckConstraint(
            "status IN ('active','left','graduated')", name=op.f("ck_students_status_known")
        ),
        sa.CheckConstraint("grade BETWEEN 0 AND 12", name=op.f("ck_students_grade_range")),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_students_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_students")),
        sa.UniqueConstraint(
            "school_id", "student_code", name=op.f("uq_students_school_id_student_code")
        ),
    )
    op.create_index(op.f("ix_students_school_id"), "students", ["school_id"], unique=False)
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), server_default="guardian", nullable=False),
        sa.Column("given_by", sa.Text(), nullable=True),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("given_at", sa.Date(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "method IN ('paper','digital','recorded')", name=op.f("ck_consents_method_known")
        ),
        sa.CheckConstraint(
            "subject IN ('guardian','child')", name=op.f("ck_consents_subject_known")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_consents_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_consents_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_student_id"), "consents", ["student_id"], unique=False)
    op.create_table(
        "allocation_devices",
        sa.Column("allocation_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.id"],
            name=op.f("fk_allocation_devices_allocation_id_allocations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_allocation_devices_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("allocation_id", "device_id", name=op.f("pk_allocation_devices")),
    )
    op.create_index(
        op.f("ix_allocation_devices_device_id"), "allocation_devices", ["device_id"], unique=False
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column(
            "assigned_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("assigned_by", sa.Integer(), nullable=True),
        sa.Column("condition_out", sa.Text(), nullable=False),
        sa.Column("due_back_on", sa.Date(), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by", sa.Integer(), nullable=True),
        sa.Column("condition_in", sa.Text(), nullable=True),
        sa.Column("wiped", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_by"], ["users.id"], name=op.f("fk_assignments_assigned_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_assignments_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["returned_by"], ["users.id"], name=op.f("fk_assignments_returned_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_assignments_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_assignments_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index(
        "ix_assignments_school_open", "assignments", ["school_id", "returned_at"], unique=False
    )
    op.create_index(
        "ix_assignments_student_open", "assignments", ["student_id", "returned_at"], unique=False
    )
    op.create_index(
        "uq_assignments_open_device",
        "assignments",
        ["device_id"],
        unique=True,
        postgresql_where=sa.text("returned_at IS NULL"),
    )
    op.add_column("devices", sa.Column("student_id", sa.Integer(), nullable=True))
    op.add_column("devices", sa.Column("repair_return_status", sa.Text(), nullable=True))
    op.add_column(
        "devices", sa.Column("needs_wipe", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_foreign_key(
        op.f("fk_devices_student_id_students"), "devices", "students", ["student_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_devices_student_id_students"), "devices", type_="foreignkey")
    op.drop_column("devices", "needs_wipe")
    op.drop_column("devices", "repair_return_status")
    op.drop_column("devices", "student_id")
    op.drop_index(
        "uq_assignments_open_device",
        table_name="assignments",
        postgresql_where=sa.text("returned_at IS NULL"),
    )
    op.drop_index("ix_assignments_student_open", table_name="assignments")
    op.drop_index("ix_assignments_school_open", table_name="assignments")
    op.drop_table("assignments")
    op.drop_index(op.f("ix_allocation_devices_device_id"), table_name="allocation_devices")
    op.drop_table("allocation_devices")
    op.drop_index(op.f("ix_consents_student_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_index(op.f("ix_students_school_id"), table_name="students")
    op.drop_table("students")
    op.drop_index("uq_school_quotas_school_kind_donation", table_name="school_quotas")
    op.drop_table("school_quotas")
    op.drop_index(op.f("ix_allocations_school_id"), table_name="allocations")
    op.drop_table("allocations")

"""foundation: administrative units (seeded from vietnam-provinces), schools,
enrolments, donors, users, tokens and API keys.

Drafted with autogenerate, then reviewed: text columns are plain TEXT, booleans and
country/locale have server defaults, and the reference data is seeded here so every
database built by the migrations has the same 34 provinces and their communes.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 00:03:29.968315
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from vietnam_provinces import Province, Ward

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "donors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), server_default="VN", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('foundation','company','telecom','government','individual','other')",
            name=op.f("ck_donors_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donors")),
        sa.UniqueConstraint("name", name=op.f("uq_donors_name")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_address"), "login_attempts", ["address"], unique=False)
    op.create_index(op.f("ix_login_attempts_email"), "login_attempts", ["email"], unique=False)
    op.create_index("ix_login_attempts_at", "login_attempts", ["at"], unique=False)
    op.create_table(
        "provinces",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("division_type", sa.Text(), nullable=False),
        sa.Column("codename", sa.Text(), nullable=False),
        sa.Column("programme_name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_provinces")),
    )
    op.create_table(
        "communes",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("division_type", sa.Text(), nullable=False),
        sa.Column("codename", sa.Text(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_code"], ["provinces.code"], name=op.f("fk_communes_province_code_provinces")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_communes")),
        sa.UniqueConstraint("code", "province_code", name=op.f("uq_communes_code_province_code")),
    )
    op.create_index(op.f("ix_communes_province_code"), "communes", ["province_code"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("donor_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("locale", sa.Text(), server_default="vi", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role <> 'donor' OR donor_id IS NOT NULL", name=op.f("ck_users_donor_has_donor")
        ),
        sa.CheckConstraint(
            "role <> 'province_officer' OR province_code IS NOT NULL",
            name=op.f("ck_users_province_officer_has_province"),
        ),
        sa.CheckConstraint(
            "role IN ('admin','province_officer','school_staff','donor')",
            name=op.f("ck_users_role_known"),
        ),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
        sa.ForeignKeyConstraint(["donor_id"], ["donors.id"], name=op.f("fk_users_donor_id_donors")),
        sa.ForeignKeyConstraint(
            ["province_code"], ["provinces.code"], name=op.f("fk_users_province_code_provinces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_api_keys_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)
    op.create_table(
        "auth_tokens",
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_tokens")),
    )
    op.create_index(op.f("ix_auth_tokens_user_id"), "auth_tokens", ["user_id"], unique=False)
    op.create_table(
        "schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("levels", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("former_district", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["commune_code", "province_code"],
            ["communes.code", "communes.province_code"],
            name="fk_schools_commune_in_province",
        ),
        sa.ForeignKeyConstraint(
            ["province_code"], ["provinces.code"], name=op.f("fk_schools_province_code_provinces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
        sa.UniqueConstraint("code", name=op.f("uq_schools_code")),
    )
    op.create_index(op.f("ix_schools_commune_code"), "schools", ["commune_code"], unique=False)
    op.create_index(op.f("ix_schools_province_code"), "schools", ["province_code"], unique=False)
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("students_total", sa.Integer(), nullable=False),
        sa.Column("priority_students", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "school_year ~ '^[0-9]{4}-[0-9]{4}$'", name=op.f("ck_enrolments_school_year_format")
        ),
        sa.CheckConstraint(
            "priority_students >= 0 AND priority_students <= students_total",
            name=op.f("ck_enrolments_priority_within_total"),
        ),
        sa.CheckConstraint(
            "students_total >= 0", name=op.f("ck_enrolments_students_total_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_enrolments_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint(
            "school_id", "school_year", name=op.f("uq_enrolments_school_id_school_year")
        ),
    )
    op.create_table(
        "user_schools",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_user_schools_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_schools_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "school_id", name=op.f("pk_user_schools")),
    )
    op.create_index(op.f("ix_user_schools_school_id"), "user_schools", ["school_id"], unique=False)
    _seed_administrative_units()


def downgrade() -> None:
    op.drop_index(op.f("ix_user_schools_school_id"), table_name="user_schools")
    op.drop_table("user_schools")
    op.drop_table("enrolments")
    op.drop_index(op.f("ix_schools_province_code"), table_name="schools")
    op.drop_index(op.f("ix_schools_commune_code"), table_name="schools")
    op.drop_table("schools")
    op.drop_index(op.f("ix_auth_tokens_user_id"), table_name="auth_tokens")
    op.drop_table("auth_tokens")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_index(op.f("ix_communes_province_code"), table_name="communes")
    op.drop_table("communes")
    op.drop_table("provinces")
    op.drop_index("ix_login_attempts_at", table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_email"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_address"), table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("donors")


def _province_short_name(name: str) -> str:
    return name.removeprefix("Thành phố ").removeprefix("Tỉnh ")


def _seed_administrative_units() -> None:
    """The post-July-2025 list (34 provinces, 3,321 communes) shipped by vietnam-provinces.
    Codes are stored as zero-padded strings, as in the official list."""
    provinces = sa.table(
        "provinces",
        sa.column("code", sa.Text),
        sa.column("name", sa.Text),
        sa.column("division_type", sa.Text),
        sa.column("codename", sa.Text),
        sa.column("programme_name", sa.Text),
    )
    communes = sa.table(
        "communes",
        sa.column("code", sa.Text),
        sa.column("name", sa.Text),
        sa.column("division_type", sa.Text),
        sa.column("codename", sa.Text),
        sa.column("province_code", sa.Text),
    )
    op.bulk_insert(
        provinces,
        [
            {
                "code": f"{p.code.value:02d}",
                "name": p.name,
                "division_type": p.division_type.value,
                "codename": p.codename,
                "programme_name": f"Sở GD&ĐT {_province_short_name(p.name)}",
            }
            for p in sorted(Province.iter_all(), key=lambda p: p.code.value)
        ],
    )
    op.bulk_insert(
        communes,
        [
            {
                "code": f"{w.code.value:05d}",
                "name": w.name,
                "division_type": w.division_type.value,
                "codename": w.codename,
                "province_code": f"{w.province_code.value:02d}",
            }
            for w in sorted(Ward.iter_all(), key=lambda w: w.code.value)
        ],
    )

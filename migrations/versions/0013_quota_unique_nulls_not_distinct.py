"""a school's quota is unique by a named constraint, NULLS NOT DISTINCT

The quota upsert named the expression index `(school_id, kind, coalesce(donation_id, 0))` in
its ON CONFLICT clause, and SQLAlchemy sent the 0 as a bound parameter. PostgreSQL matches
a bound parameter to the index's constant only while it plans the statement with the
parameter's value (the first five executions of a prepared statement); once it switches to
a generic plan the inference fails ("no unique or exclusion constraint matching the ON
CONFLICT specification") and the request answered 500.

A plain unique constraint over the three columns with NULLS NOT DISTINCT (PostgreSQL 15+)
says the same thing — one quota per school, kind and donation, and one without a donation —
and the upsert names it (ON CONFLICT ON CONSTRAINT), which involves no inference at all.

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    version = op.get_bind().exec_driver_sql("SHOW server_version_num").scalar_one()
    if int(version) < 150000:
        raise RuntimeError("devicetrack needs PostgreSQL 15 or later (NULLS NOT DISTINCT).")
    op.execute("DROP INDEX uq_school_quotas_school_kind_donation")
    op.execute(
        "ALTER TABLE school_quotas ADD CONSTRAINT uq_school_quotas_school_kind_donation"
        " UNIQUE NULLS NOT DISTINCT (school_id, kind, donation_id)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE school_quotas DROP CONSTRAINT uq_school_quotas_school_kind_donation")
    op.execute(
        "CREATE UNIQUE INDEX uq_school_quotas_school_kind_donation"
        " ON school_quotas (school_id, kind, coalesce(donation_id, 0))"
    )

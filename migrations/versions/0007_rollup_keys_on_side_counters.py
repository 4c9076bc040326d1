"""school keys on the time-dependent counters, and each school's last audit on its counter row

Commune, province and national coverage roll-ups joined `school_seen` (devices per school and
day last seen) and `school_connected` (students per school and plan end) to `schools` on
every request, and took the last closed audit from `audits` the same way: at 20,000 schools
those three joins were about half of the report's time. The two tables now carry the school's
province, commune and active flag, so a roll-up groups them directly; `school_counts` carries
the school's last closed audit.

Kept exact by triggers, like every other counter:
- a row inserted into school_seen / school_connected takes its school's keys (BEFORE INSERT);
- a school that moves commune or province, or is (de)activated, updates its rows;
- closing an audit raises the school's `last_audit_at` (audits are never reopened or
  deleted: the service refuses both).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIDE_TABLES = ("school_seen", "school_connected")

FILL_KEYS = """
CREATE FUNCTION coverage_side_keys() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    -- FOR SHARE waits for a concurrent change of the school's keys to commit (and blocks
    -- one from starting), so a row never keeps keys that the school no longer has.
    SELECT s.province_code, s.commune_code, s.active
      INTO NEW.province_code, NEW.commune_code, NEW.active
      FROM schools s WHERE s.id = NEW.school_id FOR SHARE;
    RETURN NEW;
END
$fn$
"""

SCHOOL_MOVED = """
CREATE FUNCTION coverage_school_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE school_seen SET province_code = NEW.province_code,
                           commune_code = NEW.commune_code, active = NEW.active
     WHERE school_id = NEW.id;
    UPDATE school_connected SET province_code = NEW.province_code,
                                commune_code = NEW.commune_code, active = NEW.active
     WHERE school_id = NEW.id;
    RETURN NULL;
END
$fn$
"""

AUDIT_CLOSED = """
CREATE FUNCTION coverage_audit_closed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO school_counts AS c (school_id, last_audit_at)
    VALUES (NEW.school_id, NEW.closed_at)
    ON CONFLICT (school_id) DO UPDATE
       SET last_audit_at = greatest(c.last_audit_at, excluded.last_audit_at);
    RETURN NULL;
END
$fn$
"""


def upgrade() -> None:
    for table in SIDE_TABLES:
        op.add_column(table, sa.Column("province_code", sa.String(2), nullable=True))
        op.add_column(table, sa.Column("commune_code", sa.String(5), nullable=True))
        op.add_column(table, sa.Column("active", sa.Boolean(), nullable=True))
        op.execute(
            f"""UPDATE {table} x SET province_code = s.province_code,
                       commune_code = s.commune_code, active = s.active
                  FROM schools s WHERE s.id = x.school_id"""
        )
        for column in ("province_code", "commune_code", "active"):
            op.alter_column(table, column, nullable=False)
    op.add_column(
        "school_counts", sa.Column("last_audit_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        """INSERT INTO school_counts AS c (school_id, last_audit_at)
           SELECT school_id, max(closed_at) FROM audits WHERE closed_at IS NOT NULL
            GROUP BY school_id
           ON CONFLICT (school_id) DO UPDATE SET last_audit_at = excluded.last_audit_at"""
    )
    op.execute(FILL_KEYS)
    for table in SIDE_TABLES:
        op.execute(
            f"CREATE TRIGGER coverage_side_keys BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION coverage_side_keys()"
        )
    op.execute(SCHOOL_MOVED)
    op.execute(
        "CREATE TRIGGER coverage_school_keys_changed "
        "AFTER UPDATE OF province_code, commune_code, active ON schools "
        "FOR EACH ROW WHEN ((OLD.province_code, OLD.commune_code, OLD.active) "
        "IS DISTINCT FROM (NEW.province_code, NEW.commune_code, NEW.active)) "
        "EXECUTE FUNCTION coverage_school_keys_changed()"
    )
    op.execute(AUDIT_CLOSED)
    op.execute(
        "CREATE TRIGGER coverage_audit_closed AFTER INSERT OR UPDATE OF closed_at ON audits "
        "FOR EACH ROW WHEN (NEW.closed_at IS NOT NULL) "
        "EXECUTE FUNCTION coverage_audit_closed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS coverage_audit_closed ON audits")
    op.execute("DROP FUNCTION IF EXISTS coverage_audit_closed()")
    op.execute("DROP TRIGGER IF EXISTS coverage_school_keys_changed ON schools")
    op.execute("DROP FUNCTION IF EXISTS coverage_school_keys_changed()")
    for table in SIDE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS coverage_side_keys ON {table}")
    op.execute("DROP FUNCTION IF EXISTS coverage_side_keys()")
    op.drop_column("school_counts", "last_audit_at")
    for table in reversed(SIDE_TABLES):
        for column in ("active", "commune_code", "province_code"):
            op.drop_column(table, column)

"""donor_students: the students each donor's devices have reached, kept by triggers

A donor's impact report counts the distinct students ever lent one of the donor's devices
("students reached") and those holding one now. Counted from the loans, a 100,000-device
donor matched its 100,000 devices against the 1,500,000 loans of the national seed on every
request (255–322 ms, scripts/bench_pages.py). This table holds one row per donor, student and
province (the devices' province: an officer sees their province's share) with the student's
open loans of that donor's devices; the report counts the donor's rows from the primary
key's index alone.

Kept exact by statement-level triggers, in the same transaction as the change, like the
coverage counters (0004/0006): a loan made, returned or deleted, or a device's donor or
province corrected, refreshes the (donor, student) pairs it touches from the loans
themselves — not by adding deltas, so a refresh can never drift. Pairs are refreshed by
primary key (arrays of ids: the 0006 lesson). No foreign keys: the rows are derived, and a
deleted loan or student removes its pairs through the triggers.

Revision ID: 0040
Revises: 0038
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Recomputes the rows of the pairs (donors[i], students[i]) from the loans.
REFRESH = """
CREATE FUNCTION donor_students_refresh(donors int[], students int[]) RETURNS void
LANGUAGE sql AS $fn$
    DELETE FROM donor_students ds
     USING unnest(donors, students) AS p(donor_id, student_id)
     WHERE ds.donor_id = p.donor_id AND ds.student_id = p.student_id;
    INSERT INTO donor_students AS ds (donor_id, student_id, province_code, open_loans)
    SELECT d.donor_id, a.student_id, d.province_code,
           count(*) FILTER (WHERE a.returned_at IS NULL)
      FROM (SELECT DISTINCT * FROM unnest(donors, students)) AS p(donor_id, student_id)
      JOIN assignments a ON a.student_id = p.student_id
      JOIN devices d ON d.id = a.device_id AND d.donor_id = p.donor_id
     GROUP BY 1, 2, 3
    ON CONFLICT (donor_id, student_id, province_code)
    DO UPDATE SET open_loans = excluded.open_loans;
$fn$;
"""

# The pairs a statement touched, from its transition tables; `rows` names them.
LOAN_PAIRS = """
    SELECT array_agg(d.donor_id), array_agg(r.student_id) INTO donors, students
      FROM (SELECT DISTINCT device_id, student_id FROM ({rows}) x) r
      JOIN devices d ON d.id = r.device_id
     WHERE d.donor_id IS NOT NULL;
"""

DEVICE_PAIRS = """
    SELECT array_agg(p.donor_id), array_agg(p.student_id) INTO donors, students
      FROM (
        SELECT DISTINCT donor.id AS donor_id, a.student_id
          FROM old_rows o JOIN new_rows n USING (id)
          JOIN assignments a ON a.device_id = n.id,
               LATERAL (VALUES (o.donor_id), (n.donor_id)) AS donor(id)
         WHERE donor.id IS NOT NULL
           AND (o.donor_id, o.province_code) IS DISTINCT FROM (n.donor_id, n.province_code)
      ) p;
"""

TRIGGERS = {
    # name: (table, event, transition tables, how the pairs are found)
    "donor_students_loans_insert": (
        "assignments",
        "INSERT",
        "NEW TABLE AS new_rows",
        LOAN_PAIRS.format(rows="SELECT device_id, student_id FROM new_rows"),
    ),
    "donor_students_loans_update": (
        "assignments",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        LOAN_PAIRS.format(
            rows="SELECT device_id, student_id FROM old_rows"
            " UNION SELECT device_id, student_id FROM new_rows"
        ),
    ),
    "donor_students_loans_delete": (
        "assignments",
        "DELETE",
        "OLD TABLE AS old_rows",
        LOAN_PAIRS.format(rows="SELECT device_id, student_id FROM old_rows"),
    ),
    "donor_students_devices_update": (
        "devices",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        DEVICE_PAIRS,
    ),
}


def _function(name: str, pairs: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    donors int[];
    students int[];
BEGIN
{pairs}
    IF donors IS NOT NULL THEN
        PERFORM donor_students_refresh(donors, students);
    END IF;
    RETURN NULL;
END
$fn$;
"""


def upgrade() -> None:
    op.create_table(
        "donor_students",
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        # The student's loans of this donor's devices not yet returned.
        sa.Column("open_loans", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint(
            "donor_id", "student_id", "province_code", name="pk_donor_students"
        ),
    )
    op.execute(REFRESH)
    for name, (table, event, transitions, pairs) in TRIGGERS.items():
        op.execute(_function(name, pairs))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table}"
            f" REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    # The rows for the loans already made (one pass over the loans: ~10 s per million).
    op.execute(
        """
        INSERT INTO donor_students (donor_id, student_id, province_code, open_loans)
        SELECT d.donor_id, a.student_id, d.province_code,
               count(*) FILTER (WHERE a.returned_at IS NULL)
          FROM assignments a JOIN devices d ON d.id = a.device_id
         WHERE d.donor_id IS NOT NULL
         GROUP BY 1, 2, 3
        """
    )
    # Only when it holds rows (as 0037 does for devices: an empty table analyzed misleads
    # the plans made while its first rows arrive).
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM donor_students) THEN ANALYZE donor_students; "
        "END IF; END $$"
    )


def downgrade() -> None:
    for name, (table, _event, _transitions, _pairs) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP FUNCTION donor_students_refresh(int[], int[])")
    op.drop_table("donor_students")

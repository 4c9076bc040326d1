"""length CHECKs on every text column a person types into, from the input limits

Each input limit is now defined once, in its domain's `limits.py` (devices, students,
schools, donors, donations, audits, auth); the API's bodies, the imports and the page forms
all convert into the Structs built from them. This revision holds the stored text to the
same limits: `CHECK (char_length(col) <= N)` on 34 columns, which stay TEXT (a limit is
changed by replacing a CHECK, not by rewriting a column's type).

Before, an import took a 4,000-character device note that PATCH refused at 2,000, and a
student's name of any length; the database held nothing back.

The limits are literals, not imported from the code: a migration is a snapshot and must not
change when the code does. tests/test_limits.py reads the live CHECKs and fails if any
differs from its limit, so changing a limit needs a migration like this one.

Each table's CHECKs are added in one ALTER TABLE, NOT VALID (no scan under the exclusive
lock), then validated after that transaction commits, under a lock that lets reads and
writes go on. A column that already holds longer text (an import before this revision)
keeps its CHECK unvalidated: every new or changed row is held to it, the old rows are named
in a warning with their count, and `ALTER TABLE … VALIDATE CONSTRAINT …` finishes the job
once they are shortened. Nothing is cut silently.

Not checked, on purpose: device_events.note (the append-only history, written only from
bodies already limited; a CHECK would cost a scan of the largest table and add no
guarantee), and the columns that are already varchar(N) (school code, asset tag, codes).

Revision ID: 0031
Revises: 0021
Create Date: 2026-12-01
"""

import logging
from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# (table, column, most characters) on 2026-12-01, copied from devicetrack/*/limits.py
# (LENGTHS). The constraints are named ck_<table>_<column>_length (devicetrack/db/base.py).
LENGTHS: list[tuple[str, str, int]] = [
    ("audits", "location", 200),
    ("audit_scans", "code", 60),
    ("audit_scans", "note", 2000),
    ("audit_scans", "location", 200),
    ("users", "email", 254),
    ("users", "full_name", 200),
    ("api_keys", "name", 200),
    ("devices", "make", 100),
    ("devices", "model", 200),
    ("devices", "serial", 100),
    ("devices", "note", 2000),
    ("devices", "msisdn", 20),
    ("devices", "plan_name", 200),
    ("devices", "paid_by", 200),
    ("donations", "reference", 100),
    ("donations", "note", 2000),
    ("donation_lines", "model", 200),
    ("label_batches", "note", 2000),
    ("donors", "name", 300),
    ("donors", "short_name", 40),
    ("donors", "contact_name", 200),
    ("donors", "contact_email", 254),
    ("donors", "contact_phone", 20),
    ("schools", "name", 300),
    ("schools", "former_district", 200),
    ("schools", "address", 500),
    ("students", "student_code", 40),
    ("students", "full_name", 200),
    ("students", "class_name", 20),
    ("students", "guardian_name", 200),
    ("students", "guardian_phone", 20),
    ("consents", "given_by", 200),
    ("consents", "evidence", 300),
    ("assignments", "note", 2000),
]


def _name(table: str, column: str) -> str:
    return f"ck_{table}_{column}_length"


def upgrade() -> None:
    # A busy table makes the change wait at most 10 s rather than queue every request.
    op.execute("SET LOCAL lock_timeout = '10s'")
    for table in dict.fromkeys(table for table, _, _ in LENGTHS):
        clauses = [
            f"DROP CONSTRAINT IF EXISTS {_name(table, column)}, "
            f"ADD CONSTRAINT {_name(table, column)} "
            f"CHECK (char_length({column}) <= {most}) NOT VALID"
            for t, column, most in LENGTHS
            if t == table
        ]
        op.execute(f"ALTER TABLE {table} " + ", ".join(clauses))
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        for table, column, most in LENGTHS:
            longer = bind.exec_driver_sql(
                f"SELECT count(*) FROM {table} WHERE char_length({column}) > {most}"
            ).scalar_one()
            if longer:
                log.warning(
                    "%s row(s) of %s hold a %s longer than %s characters: %s is kept NOT "
                    "VALID (new and changed rows are held to it); shorten them, then run "
                    "ALTER TABLE %s VALIDATE CONSTRAINT %s",
                    longer,
                    table,
                    column,
                    most,
                    _name(table, column),
                    table,
                    _name(table, column),
                )
                continue
            op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {_name(table, column)}")


def downgrade() -> None:
    for table, column, _ in LENGTHS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {_name(table, column)}")

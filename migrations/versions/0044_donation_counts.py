"""donation_counts: each donation's devices, kept by triggers

The donations list shows each donation's devices received beside those pledged. Counted
from the devices, a page of the nation's 50 donations counted their 1,500,000 index entries
on every request (200-230 ms on a slow 2-core box, scripts/bench_pages.py "API: donations,
nation"). This table holds the count per donation, kept exact in the same transaction as
the change:

- devices inserted (an intake of 100,000 is one statement): one upsert per donation of the
  statement, from its transition table, like the coverage counters (0004);
- devices deleted: the same, subtracted;
- a device's donation corrected (`UPDATE OF donation_id`, which the app never does; by hand
  it could): a row trigger moves it, and fires for nothing else;
- devices truncated: the counts emptied.

An intake locks its donation's row first (devices/intake.py), before the tag sequence and
the stock counters its writes lock: two intakes into one donation queue instead of
deadlocking. The backfill runs with writes to devices held off (SHARE ROW EXCLUSIVE), so
no intake commits between the count and the triggers.

No foreign key to donations: rows are derived (the coverage counters' rule), and a
donation with devices cannot be deleted anyway (devices reference it).

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Adds `sign` × the rows of `rows` per donation.
_ADD = """
    INSERT INTO donation_counts AS c (donation_id, devices)
    SELECT donation_id, {sign} count(*)::int FROM {rows} GROUP BY donation_id
    ON CONFLICT (donation_id) DO UPDATE SET devices = c.devices + excluded.devices;
"""

FUNCTIONS = {
    "donation_counts_added": _ADD.format(sign="", rows="new_rows"),
    "donation_counts_removed": _ADD.format(sign="-", rows="old_rows"),
    "donation_counts_emptied": """
    DELETE FROM donation_counts;
""",
    "donation_counts_moved": """
    IF NEW.donation_id IS DISTINCT FROM OLD.donation_id THEN
        UPDATE donation_counts SET devices = devices - 1 WHERE donation_id = OLD.donation_id;
        INSERT INTO donation_counts AS c (donation_id, devices) VALUES (NEW.donation_id, 1)
        ON CONFLICT (donation_id) DO UPDATE SET devices = c.devices + 1;
    END IF;
""",
}
TRIGGERS = [
    (
        "donation_counts_added",
        "AFTER INSERT ON devices REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
    ),
    (
        "donation_counts_removed",
        "AFTER DELETE ON devices REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
    ),
    ("donation_counts_emptied", "AFTER TRUNCATE ON devices FOR EACH STATEMENT"),
    ("donation_counts_moved", "AFTER UPDATE OF donation_id ON devices FOR EACH ROW"),
]


def upgrade() -> None:
    op.create_table(
        "donation_counts",
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("donation_id", name="pk_donation_counts"),
    )
    # No device may be written between the count and the triggers' creation (an intake
    # committing then would never be counted): writers wait, readers do not.
    op.execute("LOCK TABLE devices IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO donation_counts (donation_id, devices)"
        " SELECT donation_id, count(*)::int FROM devices GROUP BY donation_id"
    )
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
            f"BEGIN\n{body}\n    RETURN NULL;\nEND\n$fn$"
        )
    for name, when in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {name}()")


def downgrade() -> None:
    for name, _ in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON devices")
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("donation_counts")

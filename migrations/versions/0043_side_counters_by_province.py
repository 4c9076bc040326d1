"""The side counters by province: a province's communes summed without reading the nation's

The province dashboard sums its communes' day-dependent figures (students connected by a
SIM plan still running, devices not seen since the audit cut-off) from `school_connected`
and `school_seen`. Their only index leads with the school, so a province's sums read both
tables whole: 217,000 and 174,000 rows of the national seed for 9,400 and 6,600 of one
province, 70 ms of the commune roll-up's 125 ms on a slow 2-core box
(scripts/bench_pages.py). With these the two sums are range reads of the province (125 → 71
ms).

Neither index holds a counted column (`students`, `devices`): the triggers' counter updates,
which change only those, stay HOT updates that write no index entry.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_school_connected_province", "school_connected (province_code, until)"),
    ("ix_school_seen_province", "school_seen (province_code, seen_on)"),
]


def upgrade() -> None:
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")

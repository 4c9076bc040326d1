"""The SIM expiry walk in (plan end, school) order: two indexes over SIMs in service

0041's walk read SIMs in (plan end, tag) order. A school's group is complete only once the
walk has passed its earliest day, so a page could not stop inside one day: when a telecom's
batch of identical plans ends on one date for thousands of SIMs, every page of that day read
all of them again (a reviewer counted 35-55 queries a page with 20 schools on one date).
Walked in (plan end, school, tag) order, a school is met first at exactly its place in the
list, so a page stops after its own schools' SIMs and resumes after the last (day, school).

- `ix_devices_sims_walk` (plan end, school or 0, tag): the nation's walk.
- `ix_devices_sims_walk_province` (province, plan end, school or 0, tag): a province's.

Partial like 0041's (SIMs not retired), with the 0 inlined as the queries write it. On the
national seed (1,000,000 SIMs) each builds in a few seconds; an operator of a big database
may build them first `CONCURRENTLY` by hand (IF NOT EXISTS then skips them).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIMS_IN_SERVICE = "kind = 'sim' AND status <> 'retired'"

INDEXES = [
    (
        "ix_devices_sims_walk",
        "devices (plan_expires_on, (COALESCE(school_id, 0)), asset_tag)",
    ),
    (
        "ix_devices_sims_walk_province",
        "devices (province_code, plan_expires_on, (COALESCE(school_id, 0)), asset_tag)",
    ),
]


def upgrade() -> None:
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition} WHERE {SIMS_IN_SERVICE}")


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")

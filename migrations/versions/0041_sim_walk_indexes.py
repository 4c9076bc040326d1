"""Two indexes over SIMs in service, for the SIM expiry report's groups

The report lists schools by the earliest plan end among their SIMs in the window, fifty a
page. It aggregated every SIM in the window per school first, then sorted the schools: a
nation's thirty days (with the plans already lapsed) are about 250,000 SIMs of the national
seed, 1.1 s a page (scripts/bench_pages.py), and a province's `within_days=all` 180 ms.
The report now walks the SIMs in plan-end order and stops once the page's schools are known
(reports/repository.py `sim_groups`), then counts those schools' SIMs alone:

- `ix_devices_sims_by_end` (plan end, tag) carrying the school and province: the walk over
  the whole nation in plan-end order (a province walks `ix_devices_sims_ending`, 0037), and
  the count of SIMs in the window read from the index alone.
- `ix_devices_sims_by_school` (school or 0 for the stock, plan end) carrying the school,
  province and host device: a page's schools' SIMs in the window, the devices they are in
  (whose borrowers the report names), and whether a school had a SIM before the page's
  first date (it then belongs to an earlier page), as range reads of the index.

Both are partial (SIMs not retired, the predicate of 0037's index), so the 4,000,000 other
devices write no entry. The expression is written `COALESCE(school_id, 0)` with the 0 as a
literal: the queries inline it too (a bound parameter would not match the index in a generic
plan).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIMS_IN_SERVICE = "kind = 'sim' AND status <> 'retired'"

INDEXES = [
    (
        "ix_devices_sims_by_end",
        "devices (plan_expires_on, asset_tag) INCLUDE (school_id, province_code)",
    ),
    (
        "ix_devices_sims_by_school",
        "devices (COALESCE(school_id, 0), plan_expires_on)"
        " INCLUDE (school_id, province_code, installed_in_id)",
    ),
]


def upgrade() -> None:
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition} WHERE {SIMS_IN_SERVICE}")


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")

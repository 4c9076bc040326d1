"""devices on their way to each school: `school_counts.devices_incoming`

A school's devices allocated to it and not yet received (kind ≠ sim, status allocated). The
dashboard ranked gaps without them, so a school that had just been allocated 50 tablets stayed
first under "largest gaps" and invited a second allocation (issue #14, item 4). The figure is
kept by the same device triggers as `devices_held` (0004, 0006), in the same statement: an
allocated device is already in the held set, so the count is one more FILTER on rows those
triggers group anyway.

The three device trigger functions are replaced whole (a migration is a snapshot: their
bodies are written out here, with and without the new figure for the downgrade). Device
writes wait (SHARE lock) from the backfill until the new functions are in place, so no change
is counted twice or missed.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "('allocated','at_school','assigned','in_repair')"
WORKING = "('at_school','assigned')"
SEEN_DAY = "(coalesce(last_seen_at, received_at) AT TIME ZONE 'UTC')::date"

SCHOOL_COUNTS_WITH_INCOMING = f"""
    INSERT INTO school_counts AS c (school_id, devices_held, devices_working, devices_incoming)
    SELECT school_id, sum(sign),
           coalesce(sum(sign) FILTER (WHERE status IN {WORKING} AND condition <> 'broken'), 0),
           coalesce(sum(sign) FILTER (WHERE status = 'allocated'), 0)
      FROM d WHERE kind <> 'sim' AND school_id IS NOT NULL AND status IN {HELD}
     GROUP BY school_id
    ON CONFLICT (school_id) DO UPDATE SET
        devices_held = c.devices_held + excluded.devices_held,
        devices_working = c.devices_working + excluded.devices_working,
        devices_incoming = c.devices_incoming + excluded.devices_incoming;
"""
# As 0004 and 0006 wrote it (the downgrade puts it back).
SCHOOL_COUNTS_BEFORE = f"""
    INSERT INTO school_counts AS c (school_id, devices_held, devices_working)
    SELECT school_id, sum(sign), coalesce(sum(sign) FILTER (
               WHERE status IN {WORKING} AND condition <> 'broken'), 0)
      FROM d WHERE kind <> 'sim' AND school_id IS NOT NULL AND status IN {HELD}
     GROUP BY school_id
    ON CONFLICT (school_id) DO UPDATE SET
        devices_held = c.devices_held + excluded.devices_held,
        devices_working = c.devices_working + excluded.devices_working;
"""

SIDE_AND_STOCK = f"""
    WITH d AS ({{delta}})
    INSERT INTO school_seen AS c (school_id, seen_on, devices)
    SELECT school_id, {SEEN_DAY}, sum(sign)
      FROM d WHERE kind <> 'sim' AND school_id IS NOT NULL AND status IN {HELD}
     GROUP BY 1, 2
    ON CONFLICT (school_id, seen_on) DO UPDATE SET devices = c.devices + excluded.devices;

    WITH d AS ({{delta}})
    INSERT INTO stock_counts AS c (province_code, kind, devices)
    SELECT province_code, kind, sum(sign) FROM d WHERE status = 'in_stock' GROUP BY 1, 2
    ON CONFLICT (province_code, kind) DO UPDATE SET devices = c.devices + excluded.devices;
"""


def _insert_or_delete(sign: int, rows: str, counts: str) -> str:
    """0004's body for the INSERT and DELETE triggers."""
    delta = f"SELECT {sign} AS sign, * FROM {rows}"
    return f"    WITH d AS ({delta})" + counts + SIDE_AND_STOCK.format(delta=delta)


UPDATE_BODY = (
    """
    WITH changed AS (
        SELECT o.id FROM old_rows o JOIN new_rows n USING (id)
         WHERE (o.status, o.school_id, o.kind, o.condition, o.last_seen_at, o.received_at,
                o.province_code)
               IS DISTINCT FROM
               (n.status, n.school_id, n.kind, n.condition, n.last_seen_at, n.received_at,
                n.province_code)
    ), d AS (
        SELECT -1 AS sign, * FROM old_rows WHERE id IN (SELECT id FROM changed)
        UNION ALL SELECT 1, * FROM new_rows WHERE id IN (SELECT id FROM changed)
    )"""
    + "{counts}"
    + f"""
    WITH changed AS (
        SELECT o.id FROM old_rows o JOIN new_rows n USING (id)
         WHERE (o.status, o.school_id, o.kind, o.last_seen_at, o.received_at)
               IS DISTINCT FROM (n.status, n.school_id, n.kind, n.last_seen_at, n.received_at)
    ), d AS (
        SELECT -1 AS sign, * FROM old_rows WHERE id IN (SELECT id FROM changed)
        UNION ALL SELECT 1, * FROM new_rows WHERE id IN (SELECT id FROM changed)
    )
    INSERT INTO school_seen AS c (school_id, seen_on, devices)
    SELECT school_id, {SEEN_DAY}, sum(sign)
      FROM d WHERE kind <> 'sim' AND school_id IS NOT NULL AND status IN {HELD}
     GROUP BY 1, 2
    ON CONFLICT (school_id, seen_on) DO UPDATE SET devices = c.devices + excluded.devices;

    WITH changed AS (
        SELECT o.id FROM old_rows o JOIN new_rows n USING (id)
         WHERE (o.status, o.kind, o.province_code)
               IS DISTINCT FROM (n.status, n.kind, n.province_code)
    ), d AS (
        SELECT -1 AS sign, * FROM old_rows WHERE id IN (SELECT id FROM changed)
        UNION ALL SELECT 1, * FROM new_rows WHERE id IN (SELECT id FROM changed)
    )
    INSERT INTO stock_counts AS c (province_code, kind, devices)
    SELECT province_code, kind, sum(sign) FROM d WHERE status = 'in_stock' GROUP BY 1, 2
    ON CONFLICT (province_code, kind) DO UPDATE SET devices = c.devices + excluded.devices;

    -- Students holding a device whose SIM moved or whose SIM's plan changed.
    SELECT array_agg(DISTINCT a.student_id) INTO ids
      FROM assignments a
     WHERE a.returned_at IS NULL AND a.device_id IN (
        SELECT h FROM old_rows o JOIN new_rows n USING (id),
               LATERAL (VALUES (o.installed_in_id), (n.installed_in_id)) AS hosts(h)
         WHERE h IS NOT NULL
           AND (o.installed_in_id, o.plan_expires_on)
               IS DISTINCT FROM (n.installed_in_id, n.plan_expires_on));

    IF ids IS NOT NULL THEN
        UPDATE students s SET has_device = x.has_device, connected_until = x.connected_until
          FROM (
            SELECT st.id,
                   EXISTS (SELECT 1 FROM assignments a JOIN devices d ON d.id = a.device_id
                            WHERE a.student_id = st.id AND a.returned_at IS NULL
                              AND d.kind <> 'sim') AS has_device,
                   (SELECT max(sim.plan_expires_on) FROM assignments a
                      JOIN devices sim ON sim.installed_in_id = a.device_id
                     WHERE a.student_id = st.id AND a.returned_at IS NULL) AS connected_until
              FROM students st WHERE st.id = ANY(ids)
          ) x
         WHERE s.id = x.id
           AND (s.has_device, s.connected_until)
               IS DISTINCT FROM (x.has_device, x.connected_until);
    END IF;
"""
)


def _functions(counts: str) -> dict[str, str]:
    return {
        "coverage_devices_insert": _insert_or_delete(1, "new_rows", counts),
        "coverage_devices_delete": _insert_or_delete(-1, "old_rows", counts),
        "coverage_devices_update": UPDATE_BODY.replace("{counts}", counts),
    }


def _replace(name: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    ids int[];
BEGIN
{body}
    RETURN NULL;
END
$fn$
"""


BACKFILL = """
INSERT INTO school_counts AS c (school_id, devices_incoming)
SELECT school_id, count(*) FROM devices
 WHERE kind <> 'sim' AND status = 'allocated' AND school_id IS NOT NULL
 GROUP BY school_id
ON CONFLICT (school_id) DO UPDATE SET devices_incoming = excluded.devices_incoming
"""


def upgrade() -> None:
    op.add_column(
        "school_counts",
        sa.Column("devices_incoming", sa.Integer(), server_default="0", nullable=False),
    )
    # Device writes wait from here to the commit: none is missed by the backfill or counted
    # by a new function on top of it. Reads go on.
    op.execute("LOCK TABLE devices IN SHARE MODE")
    op.execute(BACKFILL)
    for name, body in _functions(SCHOOL_COUNTS_WITH_INCOMING).items():
        op.execute(_replace(name, body))


def downgrade() -> None:
    op.execute("LOCK TABLE devices IN SHARE MODE")
    for name, body in _functions(SCHOOL_COUNTS_BEFORE).items():
        op.execute(_replace(name, body))
    op.drop_column("school_counts", "devices_incoming")

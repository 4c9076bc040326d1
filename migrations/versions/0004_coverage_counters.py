"""coverage counters: the per-school figures of SPEC §5 kept exact by statement-level
triggers (with transition tables) in the same transaction as every change to devices,
assignments and students.

Why triggers: every path that changes a device (the API, bulk intake's INSERT … SELECT,
audit close, scripts) keeps the counters right without having to remember to, and a
statement-level trigger aggregates a bulk change once instead of once per row. The
time-dependent figures (students connected today, devices not seen for 180 days) are kept
as per-day histograms, so a report sums the buckets on the right side of today instead of
scanning devices.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "('allocated','at_school','assigned','in_repair')"
WORKING = "('at_school','assigned')"
SEEN_DAY = "(coalesce(last_seen_at, received_at) AT TIME ZONE 'UTC')::date"


def _device_deltas(delta: str) -> str:
    """The three counter updates for a set of device rows `d` carrying a `sign`."""
    return f"""
    WITH d AS ({delta})
    INSERT INTO school_counts AS c (school_id, devices_held, devices_working)
    SELECT school_id, sum(sign), coalesce(sum(sign) FILTER (
               WHERE status IN {WORKING} AND condition <> 'broken'), 0)
      FROM d WHERE kind <> 'sim' AND school_id IS NOT NULL AND status IN {HELD}
     GROUP BY school_id
    ON CONFLICT (school_id) DO UPDATE SET
        devices_held = c.devices_held + excluded.devices_held,
        devices_working = c.devices_working + excluded.devices_working;

    WITH d AS ({delta})
    INSERT INTO school_seen AS c (school_id, seen_on, devices)
    SELECT school_id, {SEEN_DAY}, sum(sign)
      FROM d WHERE kind <> 'sim' AND school_id IS NOT NULL AND status IN {HELD}
     GROUP BY 1, 2
    ON CONFLICT (school_id, seen_on) DO UPDATE SET devices = c.devices + excluded.devices;

    WITH d AS ({delta})
    INSERT INTO stock_counts AS c (province_code, kind, devices)
    SELECT province_code, kind, sum(sign) FROM d WHERE status = 'in_stock' GROUP BY 1, 2
    ON CONFLICT (province_code, kind) DO UPDATE SET devices = c.devices + excluded.devices;
    """


# Students whose has_device / connected_until must be recomputed, from scratch, per student.
REFRESH_STUDENTS = """
    UPDATE students s SET has_device = x.has_device, connected_until = x.connected_until
      FROM (
        SELECT st.id,
               EXISTS (SELECT 1 FROM assignments a JOIN devices d ON d.id = a.device_id
                        WHERE a.student_id = st.id AND a.returned_at IS NULL
                          AND d.kind <> 'sim') AS has_device,
               (SELECT max(sim.plan_expires_on) FROM assignments a
                  JOIN devices sim ON sim.installed_in_id = a.device_id
                 WHERE a.student_id = st.id AND a.returned_at IS NULL) AS connected_until
          FROM students st WHERE st.id IN ({ids})
      ) x
     WHERE s.id = x.id
       AND (s.has_device, s.connected_until) IS DISTINCT FROM (x.has_device, x.connected_until);
"""

DEVICE_CHANGED = """
    SELECT o.id FROM old_rows o JOIN new_rows n USING (id)
     WHERE (o.status, o.school_id, o.kind, o.condition, o.last_seen_at, o.received_at,
            o.province_code)
           IS DISTINCT FROM
           (n.status, n.school_id, n.kind, n.condition, n.last_seen_at, n.received_at,
            n.province_code)
"""
SIM_MOVED_HOSTS = """
    SELECT a.student_id FROM assignments a
     WHERE a.returned_at IS NULL AND a.device_id IN (
        SELECT h FROM (
            SELECT o.installed_in_id AS h FROM old_rows o JOIN new_rows n USING (id)
             WHERE (o.installed_in_id, o.plan_expires_on)
                   IS DISTINCT FROM (n.installed_in_id, n.plan_expires_on)
            UNION
            SELECT n.installed_in_id FROM old_rows o JOIN new_rows n USING (id)
             WHERE (o.installed_in_id, o.plan_expires_on)
                   IS DISTINCT FROM (n.installed_in_id, n.plan_expires_on)
        ) hosts WHERE h IS NOT NULL)
"""


def _student_deltas(delta: str) -> str:
    return f"""
    WITH d AS ({delta})
    INSERT INTO school_counts AS c (school_id, students_with_device, priority_with_device)
    SELECT school_id, sum(sign), coalesce(sum(sign) FILTER (WHERE cardinality(priority) > 0), 0)
      FROM d WHERE status = 'active' AND has_device GROUP BY school_id
    ON CONFLICT (school_id) DO UPDATE SET
        students_with_device = c.students_with_device + excluded.students_with_device,
        priority_with_device = c.priority_with_device + excluded.priority_with_device;

    WITH d AS ({delta})
    INSERT INTO school_connected AS c (school_id, until, students)
    SELECT school_id, connected_until, sum(sign)
      FROM d WHERE status = 'active' AND connected_until IS NOT NULL GROUP BY 1, 2
    ON CONFLICT (school_id, until) DO UPDATE SET students = c.students + excluded.students;
    """


STUDENT_CHANGED = """
    SELECT o.id FROM old_rows o JOIN new_rows n USING (id)
     WHERE (o.school_id, o.status, o.priority, o.has_device, o.connected_until)
           IS DISTINCT FROM (n.school_id, n.status, n.priority, n.has_device, n.connected_until)
"""


def _function(name: str, body: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
{body}
    RETURN NULL;
END
$fn$;
"""


TRIGGERS = [
    # (function, table, event, transition tables, body)
    (
        "coverage_devices_insert",
        "devices",
        "INSERT",
        "NEW TABLE AS new_rows",
        _device_deltas("SELECT 1 AS sign, * FROM new_rows"),
    ),
    (
        "coverage_devices_delete",
        "devices",
        "DELETE",
        "OLD TABLE AS old_rows",
        _device_deltas("SELECT -1 AS sign, * FROM old_rows"),
    ),
    (
        "coverage_devices_update",
        "devices",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _device_deltas(
            f"SELECT -1 AS sign, * FROM old_rows WHERE id IN ({DEVICE_CHANGED})"
            f" UNION ALL SELECT 1, * FROM new_rows WHERE id IN ({DEVICE_CHANGED})"
        )
        + REFRESH_STUDENTS.format(ids=SIM_MOVED_HOSTS),
    ),
    (
        "coverage_assignments_insert",
        "assignments",
        "INSERT",
        "NEW TABLE AS new_rows",
        REFRESH_STUDENTS.format(ids="SELECT student_id FROM new_rows"),
    ),
    (
        "coverage_assignments_update",
        "assignments",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        REFRESH_STUDENTS.format(
            ids="SELECT student_id FROM new_rows UNION SELECT student_id FROM old_rows"
        ),
    ),
    (
        "coverage_assignments_delete",
        "assignments",
        "DELETE",
        "OLD TABLE AS old_rows",
        REFRESH_STUDENTS.format(ids="SELECT student_id FROM old_rows"),
    ),
    (
        "coverage_students_insert",
        "students",
        "INSERT",
        "NEW TABLE AS new_rows",
        _student_deltas("SELECT 1 AS sign, * FROM new_rows"),
    ),
    (
        "coverage_students_delete",
        "students",
        "DELETE",
        "OLD TABLE AS old_rows",
        _student_deltas("SELECT -1 AS sign, * FROM old_rows"),
    ),
    (
        "coverage_students_update",
        "students",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _student_deltas(
            f"SELECT -1 AS sign, * FROM old_rows WHERE id IN ({STUDENT_CHANGED})"
            f" UNION ALL SELECT 1, * FROM new_rows WHERE id IN ({STUDENT_CHANGED})"
        ),
    ),
]

BACKFILL = f"""
UPDATE students SET has_device = false, connected_until = NULL;
{REFRESH_STUDENTS.format(ids="SELECT student_id FROM assignments WHERE returned_at IS NULL")}
{_device_deltas("SELECT 1 AS sign, * FROM devices")}
{_student_deltas("SELECT 1 AS sign, * FROM students")}
"""


def upgrade() -> None:
    op.add_column(
        "students",
        sa.Column("has_device", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("students", sa.Column("connected_until", sa.Date(), nullable=True))
    op.create_table(
        "school_counts",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("devices_held", sa.Integer(), server_default="0", nullable=False),
        sa.Column("devices_working", sa.Integer(), server_default="0", nullable=False),
        sa.Column("students_with_device", sa.Integer(), server_default="0", nullable=False),
        sa.Column("priority_with_device", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name="fk_school_counts_school_id_schools",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", name="pk_school_counts"),
    )
    op.create_table(
        "school_seen",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("seen_on", sa.Date(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name="fk_school_seen_school_id_schools",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", "seen_on", name="pk_school_seen"),
    )
    op.create_table(
        "school_connected",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("students", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name="fk_school_connected_school_id_schools",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", "until", name="pk_school_connected"),
    )
    op.create_table(
        "stock_counts",
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("province_code", "kind", name="pk_stock_counts"),
    )
    # asyncpg runs one command per execute.
    for statement in BACKFILL.split(";\n"):
        if statement.strip():
            op.execute(statement)
    for name, table, event, transitions, body in TRIGGERS:
        op.execute(_function(name, body))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transitions} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def downgrade() -> None:
    for name, table, *_ in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("stock_counts")
    op.drop_table("school_connected")
    op.drop_table("school_seen")
    op.drop_table("school_counts")
    op.drop_column("students", "connected_until")
    op.drop_column("students", "has_device")

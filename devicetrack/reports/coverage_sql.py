"""The SQL of the coverage report. Per-school figures come from the trigger-kept counter
tables (school_counts, school_seen, school_connected), never from scanning devices."""

from __future__ import annotations

# :year, :today, :cutoff (today - 180 days), :target, and a scope clause on `s`.
PER_SCHOOL = """
WITH scoped AS (
    SELECT s.id, s.code, s.name, s.commune_code, s.province_code
      FROM schools s WHERE s.active AND {scope}
), conn AS (
    SELECT school_id, sum(students)::int AS students FROM school_connected
     WHERE until >= :today {narrow} GROUP BY school_id
), seen AS (
    SELECT school_id, sum(devices)::int AS devices FROM school_seen
     WHERE seen_on < :cutoff {narrow} GROUP BY school_id
)
SELECT s.id AS school_id, s.code AS school_code, s.name AS school_name,
       s.commune_code, s.province_code,
       coalesce(e.students_total, 0) AS enrolled,
       coalesce(e.priority_students, 0) AS priority_enrolled,
       coalesce(c.devices_held, 0) AS devices_held,
       coalesce(c.devices_working, 0) AS devices_working,
       coalesce(c.students_with_device, 0) AS students_with_device,
       coalesce(c.priority_with_device, 0) AS priority_with_device,
       coalesce(conn.students, 0) AS students_connected,
       coalesce(seen.devices, 0) AS overdue_audit,
       c.last_audit_at,
       greatest(0, ceil(:target * coalesce(e.students_total, 0) / 100.0)::int
                   - coalesce(c.devices_working, 0)) AS gap
  FROM scoped s
  LEFT JOIN enrolments e ON e.school_id = s.id AND e.school_year = :year
  LEFT JOIN school_counts c ON c.school_id = s.id
  LEFT JOIN conn ON conn.school_id = s.id
  LEFT JOIN seen ON seen.school_id = s.id
"""
# Names are joined after aggregation: a handful of rows instead of one per school.
NAMED = """
SELECT r.*, cm.name AS commune_name, p.name AS province_name
  FROM ({inner}) r
  LEFT JOIN communes cm ON cm.code = r.commune_code
  LEFT JOIN provinces p ON p.code = r.province_code
"""

COUNT_COLUMNS = (
    "enrolled",
    "priority_enrolled",
    "devices_held",
    "devices_working",
    "students_with_device",
    "priority_with_device",
    "students_connected",
    "overdue_audit",
    "gap",
)
GROUPS = {
    "commune": ("commune_code", "province_code"),
    "province": ("province_code",),
    "nation": (),
}


ROLLUP = """
WITH scoped AS (
    SELECT s.id, s.commune_code, s.province_code FROM schools s WHERE s.active AND {scope}
), per_school AS (
    SELECT {keys_s}
           coalesce(e.students_total, 0) AS enrolled,
           coalesce(e.priority_students, 0) AS priority_enrolled,
           coalesce(c.devices_held, 0) AS devices_held,
           coalesce(c.devices_working, 0) AS devices_working,
           coalesce(c.students_with_device, 0) AS students_with_device,
           coalesce(c.priority_with_device, 0) AS priority_with_device,
           greatest(0, ceil(:target * coalesce(e.students_total, 0) / 100.0)::int
                       - coalesce(c.devices_working, 0)) AS gap,
           c.last_audit_at
      FROM scoped s
      LEFT JOIN enrolments e ON e.school_id = s.id AND e.school_year = :year
      LEFT JOIN school_counts c ON c.school_id = s.id
), totals AS (
    SELECT {keys} count(*)::int AS schools, {sums}, max(last_audit_at) AS last_audit_at
      FROM per_school {group}
), conn AS (
    -- The side counters carry their school's keys (migration 0007): no join to schools.
    SELECT {keys_s} sum(s.students)::int AS students_connected
      FROM school_connected s
     WHERE s.active AND {side_scope} AND s.until >= :today {group_s}
), seen AS (
    SELECT {keys_s} sum(s.devices)::int AS overdue_audit
      FROM school_seen s
     WHERE s.active AND {side_scope} AND s.seen_on < :cutoff {group_s}
)
SELECT totals.*, coalesce(conn.students_connected, 0) AS students_connected,
       coalesce(seen.overdue_audit, 0) AS overdue_audit
  FROM totals
  LEFT JOIN conn ON {join_conn}
  LEFT JOIN seen ON {join_seen}
"""
ROLLUP_SUMS = (
    "enrolled",
    "priority_enrolled",
    "devices_held",
    "devices_working",
    "students_with_device",
    "priority_with_device",
    "gap",
)


def rollup(level: str, scope: str) -> str:
    """The SQL for a coverage level. Roll-ups aggregate straight to their groups (a
    province, a commune, the nation) instead of building a row per school first."""
    if level == "school":
        # With a scope, the counter tables are read for the scoped schools only (index
        # range scans); for the whole nation a plain aggregate is cheaper than the semi-join.
        narrow = "" if scope == "true" else "AND school_id IN (SELECT id FROM scoped)"
        return NAMED.format(inner=PER_SCHOOL.format(scope=scope, narrow=narrow))
    keys = list(GROUPS[level])
    sums = ", ".join(f"coalesce(sum({c}), 0)::int AS {c}" for c in ROLLUP_SUMS)

    def join(alias: str) -> str:
        return " AND ".join(f"{alias}.{k} = totals.{k}" for k in keys) if keys else "true"

    inner = ROLLUP.format(
        scope=scope,
        # The scope is written for `schools s`; the side tables name the school `school_id`.
        side_scope=scope.replace("s.id = ", "s.school_id = "),
        keys_s="".join(f"s.{k}, " for k in keys),
        keys="".join(f"{k}, " for k in keys),
        sums=sums,
        group=f"GROUP BY {', '.join(keys)}" if keys else "",
        group_s=f"GROUP BY {', '.join('s.' + k for k in keys)}" if keys else "",
        join_conn=join("conn"),
        join_seen=join("seen"),
    )
    missing = {"commune_code", "province_code"} - set(keys)
    select = "SELECT r.*" + "".join(f", NULL AS {k}" for k in sorted(missing))
    return NAMED.format(inner=f"{select} FROM ({inner}) r")


# The same figures computed from scratch, straight from §5 (devices, assignments,
# students). Not used by the API: tests and `devicetrack report recount` compare it with
# the counters.
FROM_SCRATCH = """
SELECT s.id AS school_id,
  (SELECT count(*) FROM devices d WHERE d.school_id = s.id AND d.kind <> 'sim'
      AND d.status IN ('allocated','at_school','assigned','in_repair'))::int AS devices_held,
  (SELECT count(*) FROM devices d WHERE d.school_id = s.id AND d.kind <> 'sim'
      AND d.status IN ('at_school','assigned') AND d.condition <> 'broken')::int
      AS devices_working,
  (SELECT count(DISTINCT st.id) FROM students st JOIN assignments a ON a.student_id = st.id
     JOIN devices d ON d.id = a.device_id
    WHERE st.school_id = s.id AND st.status = 'active' AND a.returned_at IS NULL
      AND d.kind <> 'sim')::int AS students_with_device,
  (SELECT count(DISTINCT st.id) FROM students st JOIN assignments a ON a.student_id = st.id
     JOIN devices d ON d.id = a.device_id
    WHERE st.school_id = s.id AND st.status = 'active' AND a.returned_at IS NULL
      AND d.kind <> 'sim' AND cardinality(st.priority) > 0)::int AS priority_with_device,
  (SELECT count(DISTINCT st.id) FROM students st JOIN assignments a ON a.student_id = st.id
     JOIN devices sim ON sim.installed_in_id = a.device_id
    WHERE st.school_id = s.id AND st.status = 'active' AND a.returned_at IS NULL
      AND sim.plan_expires_on >= :today)::int AS students_connected,
  (SELECT count(*) FROM devices d WHERE d.school_id = s.id AND d.kind <> 'sim'
      AND d.status IN ('allocated','at_school','assigned','in_repair')
      AND (coalesce(d.last_seen_at, d.received_at) AT TIME ZONE 'UTC')::date < :cutoff)::int
      AS overdue_audit
FROM schools s ORDER BY s.id
"""

"""§5's per-school figures computed from scratch, straight from the definitions (devices,
assignments, students). Not used by the API, which reads the trigger-kept counters
(reports/repository.py): the tests compare the two."""

from __future__ import annotations

# :today and :cutoff (today - 180 days) are its parameters.
FROM_SCRATCH = """
SELECT s.id AS school_id,
  (SELECT count(*) FROM devices d WHERE d.school_id = s.id AND d.kind <> 'sim'
      AND d.status IN ('allocated','at_school','assigned','in_repair'))::int AS devices_held,
  (SELECT count(*) FROM devices d WHERE d.school_id = s.id AND d.kind <> 'sim'
      AND d.status IN ('at_school','assigned') AND d.condition <> 'broken')::int
      AS devices_working,
  (SELECT count(*) FROM devices d WHERE d.school_id = s.id AND d.kind <> 'sim'
      AND d.status = 'allocated')::int AS devices_incoming,
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

"""value-list CHECKs declared from the enums, and on every column that stores a listed value

Each value list (device kind, status, condition, carrier, role, locale, donor kind, school
level, priority flag, student status, consent method and subject) is now one `StrEnum` in
its domain's `values.py`. This revision declares every CHECK that holds a column to such a
list in one table below, with the lists as they are today:

- the twelve CHECKs of 0001–0003 are dropped and re-created under the same names, with the
  same values (the list below is where a later change of an enum copies them from);
- nine columns that stored listed values unchecked get one: allocations.kind,
  assignments.condition_out/condition_in, audit_scans.condition, audit_expected.
  status_at_start, devices.repair_return_status, users.locale and schools.levels (an array:
  every element must be a level).

Not checked, on purpose: device_events (the append-only history, the largest table, written
only from the checked device columns: a CHECK would cost a scan of it and add no guarantee)
and stock_counts.kind (a counter kept by triggers from devices.kind).

The lists are literals, not imported from the enums: a migration is a snapshot and must not
change when the code does. tests/test_value_lists.py reads the live CHECKs and fails if any
differs from its enum, so a new value needs a new migration like this one.

Each table's drops and adds are one ALTER TABLE, so the column is never unguarded; the CHECKs
are added NOT VALID (no scan under the exclusive lock) and validated after that transaction
commits, under a lock that lets reads and writes go on.

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The value lists on 2026-12-01 (copied from devicetrack/*/values.py).
DEVICE_KINDS = "'laptop', 'desktop', 'tablet', 'smartphone', 'sim', 'router', 'other'"
DEVICE_STATUSES = (
    "'in_stock', 'allocated', 'at_school', 'assigned', 'in_repair', 'lost', 'stolen', 'retired'"
)
CONDITIONS = "'new', 'good', 'fair', 'poor', 'broken'"
CARRIERS = "'viettel', 'vinaphone', 'mobifone', 'other'"
ROLES = "'admin', 'province_officer', 'school_staff', 'donor'"
LOCALES = "'vi', 'en'"
DONOR_KINDS = "'foundation', 'company', 'telecom', 'government', 'individual', 'other'"
SCHOOL_LEVELS = "'preschool', 'primary', 'lower_secondary', 'upper_secondary', 'continuing'"
PRIORITY_FLAGS = "'poor_household', 'ethnic_minority', 'disability', 'remote'"
STUDENT_STATUSES = "'active', 'left', 'graduated'"
CONSENT_METHODS = "'paper', 'digital', 'recorded'"
CONSENT_SUBJECTS = "'guardian', 'child'"

# (table, constraint, CHECK, added here): the names follow devicetrack/db/base.py.
CHECKS: list[tuple[str, str, str, bool]] = [
    ("devices", "ck_devices_kind_known", f"kind IN ({DEVICE_KINDS})", False),
    ("devices", "ck_devices_status_known", f"status IN ({DEVICE_STATUSES})", False),
    ("devices", "ck_devices_condition_known", f"condition IN ({CONDITIONS})", False),
    ("devices", "ck_devices_carrier_known", f"carrier IN ({CARRIERS})", False),
    (
        "devices",
        "ck_devices_repair_return_status_known",
        f"repair_return_status IN ({DEVICE_STATUSES})",
        True,
    ),
    ("donation_lines", "ck_donation_lines_kind_known", f"kind IN ({DEVICE_KINDS})", False),
    ("school_quotas", "ck_school_quotas_kind_known", f"kind IN ({DEVICE_KINDS})", False),
    ("allocations", "ck_allocations_kind_known", f"kind IN ({DEVICE_KINDS})", True),
    (
        "assignments",
        "ck_assignments_condition_out_known",
        f"condition_out IN ({CONDITIONS})",
        True,
    ),
    ("assignments", "ck_assignments_condition_in_known", f"condition_in IN ({CONDITIONS})", True),
    ("audit_scans", "ck_audit_scans_condition_known", f"condition IN ({CONDITIONS})", True),
    (
        "audit_expected",
        "ck_audit_expected_status_at_start_known",
        f"status_at_start IN ({DEVICE_STATUSES})",
        True,
    ),
    ("users", "ck_users_role_known", f"role IN ({ROLES})", False),
    ("users", "ck_users_locale_known", f"locale IN ({LOCALES})", True),
    ("donors", "ck_donors_kind_known", f"kind IN ({DONOR_KINDS})", False),
    ("schools", "ck_schools_levels_known", f"levels <@ ARRAY[{SCHOOL_LEVELS}]", True),
    ("students", "ck_students_status_known", f"status IN ({STUDENT_STATUSES})", False),
    ("students", "ck_students_priority_known", f"priority <@ ARRAY[{PRIORITY_FLAGS}]", False),
    ("consents", "ck_consents_method_known", f"method IN ({CONSENT_METHODS})", False),
    ("consents", "ck_consents_subject_known", f"subject IN ({CONSENT_SUBJECTS})", False),
]


def upgrade() -> None:
    # A busy table makes the swap wait at most 10 s rather than queue every request behind it.
    op.execute("SET LOCAL lock_timeout = '10s'")
    tables = dict.fromkeys(table for table, _, _, _ in CHECKS)
    for table in tables:
        mine = [(name, check) for t, name, check, _ in CHECKS if t == table]
        # IF EXISTS: a run interrupted before the validation below can simply be repeated.
        clauses = [f"DROP CONSTRAINT IF EXISTS {name}" for name, _ in mine]
        clauses += [f"ADD CONSTRAINT {name} CHECK ({check}) NOT VALID" for name, check in mine]
        op.execute(f"ALTER TABLE {table} " + ", ".join(clauses))
    with op.get_context().autocommit_block():
        for table, name, _, _ in CHECKS:
            op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


def downgrade() -> None:
    # The re-created CHECKs hold the same values as before 0015: only the new ones go.
    for table, name, _, added in CHECKS:
        if added:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")

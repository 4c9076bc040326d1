"""the child's access log and when a student left (Law 91/2025, Decree 356/2025)

- `student_access_log`: who read which student's personal fields, when, and through which
  route. It is evidence like the device history: a trigger refuses UPDATE, DELETE and
  TRUNCATE, whoever asks. No foreign keys: it is written on read paths, one row per student
  of a list, and the two key checks per row tripled the cost of logging a 1,000-student list
  (measured ~25 ms → ~78 ms); its ids come from the rows the same request just read and from
  the signed-in user, and neither students nor users are ever deleted (they are erased and
  deactivated). Evidence also outlives its subject: a log keeps its rows whatever happens to
  the row it names.
- `students.left_at`: when the student stopped being active (left or graduated), kept by a
  trigger on every path that changes the status (the API, the pages, the import), so the
  retention sweep can pseudonymise those who left more than N months ago. Students who left
  before this migration take their last update's time, the best evidence there is (never
  earlier than the truth, so nobody is erased early).

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same refusal as device_events' (migration 0002), naming whichever table refused.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION refuse_change_to_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

LEFT_AT_FUNCTION = """
CREATE FUNCTION students_keep_left_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'active' THEN
        NEW.left_at := NULL;
    ELSIF TG_OP = 'INSERT' OR OLD.status = 'active' OR OLD.left_at IS NULL THEN
        -- An explicit left_at (a restore, an import of past leavers) is kept.
        NEW.left_at := coalesce(NEW.left_at, now());
    END IF;
    RETURN NEW;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "student_access_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_student_access_log")),
    )
    op.create_index(
        "ix_student_access_log_student_id_id", "student_access_log", ["student_id", "id"]
    )
    op.create_index("ix_student_access_log_user_id_id", "student_access_log", ["user_id", "id"])
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER student_access_log_append_only BEFORE UPDATE OR DELETE "
        "ON student_access_log FOR EACH ROW EXECUTE FUNCTION refuse_change_to_log()"
    )
    op.execute(
        "CREATE TRIGGER student_access_log_no_truncate BEFORE TRUNCATE ON student_access_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_log()"
    )

    op.add_column("students", sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE students SET left_at = updated_at WHERE status <> 'active'")
    op.execute(LEFT_AT_FUNCTION)
    op.execute(
        "CREATE TRIGGER students_keep_left_at BEFORE INSERT OR UPDATE OF status, left_at "
        "ON students FOR EACH ROW EXECUTE FUNCTION students_keep_left_at()"
    )
    # The sweep's question: who left before the cutoff and still has personal data.
    op.create_index(
        "ix_students_left_at_not_erased",
        "students",
        ["left_at"],
        postgresql_where=sa.text("left_at IS NOT NULL AND erased_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_students_left_at_not_erased", table_name="students")
    op.execute("DROP TRIGGER IF EXISTS students_keep_left_at ON students")
    op.execute("DROP FUNCTION IF EXISTS students_keep_left_at()")
    op.drop_column("students", "left_at")
    op.execute("DROP TRIGGER IF EXISTS student_access_log_no_truncate ON student_access_log")
    op.execute("DROP TRIGGER IF EXISTS student_access_log_append_only ON student_access_log")
    op.drop_table("student_access_log")
    op.execute("DROP FUNCTION IF EXISTS refuse_change_to_log()")

"""The job queue: procrastinate's tables, and job_runs (one row per periodic job's period)

procrastinate's schema is created from a copy of the SQL it ships (migrations/sql/
procrastinate-3.10.0.sql, the release this revision was written against), executed
statement by statement. A copy rather than the installed package's file: a migration is a
snapshot, and a later procrastinate must not make a fresh database differ from an old
one. Its last migration file is recorded below; tests/test_jobs.py fails when the
installed procrastinate ships a newer one, which then needs its own revision.

job_runs is what makes a periodic job's work happen once per period (jobs/periodic.py).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = Path(__file__).resolve().parents[1] / "sql" / "procrastinate-3.10.0.sql"
# The newest file of procrastinate/sql/migrations/ that this schema already contains.
PROCRASTINATE_LAST_MIGRATION = "03.04.00_50_post_add_retry_failed_job_procedure.sql"


def statements(sql: str) -> Iterator[str]:
    """The file's statements: each ends with `;` at the end of a line, outside a
    dollar-quoted body (the functions' `$$ … $$`)."""
    current: list[str] = []
    quoted = False
    for line in sql.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current.append(line)
        if line.count("$$") % 2:
            quoted = not quoted
        if not quoted and line.rstrip().endswith(";"):
            yield "\n".join(current)
            current = []
    if "".join(current).strip():
        raise ValueError("the schema file ends inside a statement")


def upgrade() -> None:
    for statement in statements(SCHEMA.read_text(encoding="utf-8")):
        op.execute(statement)
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column(
            "done_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("summary", sa.String(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("job", "period", name="pk_job_runs"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    for table in (
        "procrastinate_events",
        "procrastinate_periodic_defers",
        "procrastinate_jobs",
        "procrastinate_workers",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    # Every function of procrastinate's schema carries its prefix.
    op.execute(
        """DO $$
        DECLARE f regprocedure;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
                       JOIN pg_namespace n ON n.oid = p.pronamespace
                      WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE 'DROP FUNCTION ' || f;
            END LOOP;
        END $$"""
    )
    for type_ in (
        "procrastinate_job_to_defer_v1",
        "procrastinate_job_event_type",
        "procrastinate_job_status",
    ):
        op.execute(f"DROP TYPE IF EXISTS {type_}")

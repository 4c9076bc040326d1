"""erasing a student removes the free-text notes of the events about them

Device history is append-only (0002): the database refuses every UPDATE, DELETE and TRUNCATE
of `device_events`. But staff write notes on loans and returns ("lent to Lò Thị Mai, her
mother signed"), and when a student is erased (SPEC §2: personal fields removed, the history
kept under the pseudonymous code) those notes kept the name.

The guard now allows exactly one change: setting `note` to NULL on an event that concerns a
student who has already been erased, with every other column unchanged. Anything else is
refused as before, so a note can be removed for erasure but never rewritten, and no event can
be moved, re-dated or deleted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD_WITH_REDACTION = """
CREATE OR REPLACE FUNCTION refuse_change_to_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_LEVEL = 'ROW'
       AND OLD.note IS NOT NULL AND NEW.note IS NULL AND OLD.student_id IS NOT NULL
       AND (NEW.id, NEW.device_id, NEW.at, NEW.actor_id, NEW.action, NEW.from_status,
            NEW.to_status, NEW.school_id, NEW.student_id, NEW.condition, NEW.data)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.device_id, OLD.at, OLD.actor_id, OLD.action, OLD.from_status,
            OLD.to_status, OLD.school_id, OLD.student_id, OLD.condition, OLD.data)
       AND EXISTS (SELECT 1 FROM students s
                    WHERE s.id = OLD.student_id AND s.erased_at IS NOT NULL)
    THEN
        RETURN NEW;  -- an erased student's note removed, nothing else touched
    END IF;
    RAISE EXCEPTION 'device_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

GUARD_STRICT = """
CREATE OR REPLACE FUNCTION refuse_change_to_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'device_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.execute(GUARD_WITH_REDACTION)


def downgrade() -> None:
    op.execute(GUARD_STRICT)

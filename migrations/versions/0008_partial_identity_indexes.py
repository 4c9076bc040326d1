"""identity and school indexes hold only the rows they are about

`uq_devices_imei` and `uq_devices_iccid` were plain UNIQUE constraints, and
`ix_devices_school_status` a plain index, so every device had an entry in all three even
when its IMEI, ICCID or school was empty: a new laptop (no IMEI, no ICCID, no school yet)
wrote three index entries that no query can use. Measured on a 100,000-device intake those
were about a quarter of the ~950,000 WAL records the insert wrote.

They become partial indexes over the non-null values. The rules are unchanged: NULLs never
conflicted in a unique index, and every query on `school_id` compares it with a value, which
the planner proves non-null, so it still uses the index. The names are kept, so a unique
violation still names `uq_devices_imei` / `uq_devices_iccid`.

Each new index is built CONCURRENTLY under a temporary name (writes go on meanwhile), then
the old ones are dropped and the new renamed in one short transaction, so uniqueness is
never unguarded.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE_IDENTITIES = ("imei", "iccid")


def upgrade() -> None:
    # Built CONCURRENTLY, outside the migration's transaction: on a table of millions of
    # devices a plain CREATE INDEX would block every intake, loan and scan for the whole
    # build. A build interrupted before leaves an invalid index behind: dropped first.
    with op.get_context().autocommit_block():
        for column in UNIQUE_IDENTITIES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS uq_devices_{column}_new")
            op.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY uq_devices_{column}_new ON devices ({column})"
                f" WHERE {column} IS NOT NULL"
            )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_devices_school_status_new")
        op.execute(
            "CREATE INDEX CONCURRENTLY ix_devices_school_status_new ON devices (school_id, status)"
            " WHERE school_id IS NOT NULL"
        )
    # Then the swap, in one short transaction: the new unique indexes already guard the
    # values, so uniqueness is never unguarded; a busy table makes it wait at most 10 s.
    op.execute("SET LOCAL lock_timeout = '10s'")
    for column in UNIQUE_IDENTITIES:
        op.execute(f"ALTER TABLE devices DROP CONSTRAINT uq_devices_{column}")
        op.execute(f"ALTER INDEX uq_devices_{column}_new RENAME TO uq_devices_{column}")
    op.execute("DROP INDEX ix_devices_school_status")
    op.execute("ALTER INDEX ix_devices_school_status_new RENAME TO ix_devices_school_status")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_devices_school_status_old ON devices (school_id, status)")
    op.execute("DROP INDEX ix_devices_school_status")
    op.execute("ALTER INDEX ix_devices_school_status_old RENAME TO ix_devices_school_status")
    for column in UNIQUE_IDENTITIES:
        op.execute(f"ALTER INDEX uq_devices_{column} RENAME TO uq_devices_{column}_partial")
        op.execute(f"ALTER TABLE devices ADD CONSTRAINT uq_devices_{column} UNIQUE ({column})")
        op.execute(f"DROP INDEX uq_devices_{column}_partial")

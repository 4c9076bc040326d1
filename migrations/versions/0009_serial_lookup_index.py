"""find a device by its serial alone, in any case

A scanner or a person may give only a serial (the sticker under a laptop). The one index on
`serial` was the uniqueness index on (lower(make), serial), which cannot serve a lookup by
serial alone, so the scan endpoint and the `q` search read the whole devices table for it
(hundreds of milliseconds at a few million devices). People also type serials in lower
case, which an exact comparison never found.

An index on upper(serial), partial like the uniqueness one, serves both: the lookups compare
upper(serial) with the upper-cased input. Serials are still stored as given.

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


def upgrade() -> None:
    # CONCURRENTLY, outside a transaction: devices stay writable while it builds.
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_devices_serial_upper")
        op.execute(
            "CREATE INDEX CONCURRENTLY ix_devices_serial_upper ON devices (upper(serial))"
            " WHERE serial IS NOT NULL"
        )


def downgrade() -> None:
    op.execute("DROP INDEX ix_devices_serial_upper")

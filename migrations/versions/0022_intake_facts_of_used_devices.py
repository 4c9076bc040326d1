"""devices: intake facts of used donated devices (activation lock, storage, RAM, battery)

A used phone or tablet that is still tied to its former owner's account (iCloud's
Activation Lock, Google's Factory Reset Protection) or enrolled in another organisation's
MDM cannot be set up by a student; the province must know before lending or allocating it.
Four columns:

- `activation_lock`: unknown (the default, and what every device registered so far is),
  clear, locked_icloud, locked_google_frp, locked_mdm — held by a list CHECK written as
  0015 writes them (a literal snapshot of devices.values.ActivationLock; the new column's
  constant default is a catalogue change, no rewrite of the table);
- `storage_gb` (whole GB, 1–100,000), `ram_gb` (GB with one decimal: 1.5 GB phones exist,
  0.1–10,000) and `battery_health_pct` (0–100): facts read off the device, none required.

The CHECKs are added NOT VALID under a short lock and validated after that transaction
commits, under a lock that lets reads and writes go on (as 0015 does).

Revision ID: 0022
Revises: 0031
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# devicetrack/devices/values.py ActivationLock on 2026-12-01.
ACTIVATION_LOCKS = "'unknown', 'clear', 'locked_icloud', 'locked_google_frp', 'locked_mdm'"

CHECKS = [
    ("ck_devices_activation_lock_known", f"activation_lock IN ({ACTIVATION_LOCKS})"),
    ("ck_devices_storage_gb_range", "storage_gb BETWEEN 1 AND 100000"),
    ("ck_devices_ram_gb_range", "ram_gb > 0 AND ram_gb <= 10000"),
    ("ck_devices_battery_health_pct_range", "battery_health_pct BETWEEN 0 AND 100"),
]


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute(
        "ALTER TABLE devices"
        " ADD COLUMN activation_lock text NOT NULL DEFAULT 'unknown',"
        " ADD COLUMN storage_gb integer,"
        " ADD COLUMN ram_gb numeric(6, 1),"
        " ADD COLUMN battery_health_pct smallint, "
        + ", ".join(f"ADD CONSTRAINT {name} CHECK ({check}) NOT VALID" for name, check in CHECKS)
    )
    with op.get_context().autocommit_block():
        for name, _ in CHECKS:
            op.execute(f"ALTER TABLE devices VALIDATE CONSTRAINT {name}")


def downgrade() -> None:
    op.execute(
        "ALTER TABLE devices DROP COLUMN activation_lock, DROP COLUMN storage_gb,"
        " DROP COLUMN ram_gb, DROP COLUMN battery_health_pct"
    )

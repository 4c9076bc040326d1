"""webhook_subscriptions.disabled_reason; evidence.thumbnail

- `webhook_subscriptions.disabled_reason`: why a subscription is off — 'failing' (no success
  for three days: the only way one was turned off until now, so the ones already off get it)
  or 'owner_deactivated' (the user who made it was deactivated: a departed officer's URL
  must stop receiving the province's events). A CHECK keeps it in step with `active`: off
  always says why, on never carries a reason.
- `evidence.thumbnail`: the pages' small copy of an image, made the first time it is asked
  for and kept (the image never changes), so a list shown again does not decode megabytes
  of photo again. Null until then. Adding a nullable column without a default is a
  catalogue change: no rewrite of a table of photos.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# evidence/limits.py MAX_BYTES when this was written (a migration does not follow the code).
MAX_BYTES = 5 * 1024 * 1024


def upgrade() -> None:
    op.add_column("webhook_subscriptions", sa.Column("disabled_reason", sa.Text(), nullable=True))
    op.execute("UPDATE webhook_subscriptions SET disabled_reason = 'failing' WHERE NOT active")
    op.create_check_constraint(
        op.f("ck_webhook_subscriptions_disabled_reason_known"),
        "webhook_subscriptions",
        "disabled_reason IN ('failing', 'owner_deactivated')",
    )
    op.create_check_constraint(
        op.f("ck_webhook_subscriptions_disabled_with_reason"),
        "webhook_subscriptions",
        "active = (disabled_reason IS NULL)",
    )
    op.add_column("evidence", sa.Column("thumbnail", sa.LargeBinary(), nullable=True))
    op.create_check_constraint(
        op.f("ck_evidence_thumbnail_size"),
        "evidence",
        f"thumbnail IS NULL OR octet_length(thumbnail) BETWEEN 1 AND {MAX_BYTES}",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_evidence_thumbnail_size"), "evidence", type_="check")
    op.drop_column("evidence", "thumbnail")
    op.drop_constraint(
        op.f("ck_webhook_subscriptions_disabled_with_reason"),
        "webhook_subscriptions",
        type_="check",
    )
    op.drop_constraint(
        op.f("ck_webhook_subscriptions_disabled_reason_known"),
        "webhook_subscriptions",
        type_="check",
    )
    op.drop_column("webhook_subscriptions", "disabled_reason")

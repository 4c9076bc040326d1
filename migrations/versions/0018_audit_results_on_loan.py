"""closed audits list lent devices on their own ("on loan"), not as missing

An audit expects the devices lent to students (include_assigned), and a lent device that
nobody scanned used to be frozen into the result's `missing` list with status `assigned`:
a school's equipment room showed "missing 34", 15 of them at home with students, and
"mark missing as lost" would have reported those 15 lost. The service now freezes them
into their own list, `on_loan` (asset_tag, kind, due_back_on, student_id, student_code),
and this revision moves them there in the results already stored, in the shape the
service writes (keys without a value are left out, as msgspec's omit_defaults does).

The downgrade puts them back into `missing` with status `assigned`, as before.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE audits SET result = result || jsonb_build_object(
            'missing', COALESCE((
                SELECT jsonb_agg(m ORDER BY n) FROM jsonb_array_elements(result -> 'missing')
                       WITH ORDINALITY AS x(m, n)
                 WHERE m ->> 'status' IS DISTINCT FROM 'assigned'), '[]'::jsonb),
            'on_loan', COALESCE((
                SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                           'asset_tag', m -> 'asset_tag', 'kind', m -> 'kind',
                           'student_code', m -> 'student_code')) ORDER BY n)
                  FROM jsonb_array_elements(result -> 'missing') WITH ORDINALITY AS x(m, n)
                 WHERE m ->> 'status' = 'assigned'), '[]'::jsonb))
         WHERE result IS NOT NULL AND NOT result ? 'on_loan'
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE audits SET result = (result - 'on_loan') || jsonb_build_object(
            'missing', COALESCE(result -> 'missing', '[]'::jsonb) || COALESCE((
                SELECT jsonb_agg(jsonb_build_object(
                           'asset_tag', m -> 'asset_tag', 'kind', m -> 'kind',
                           'status', 'assigned',
                           'student_code', COALESCE(m -> 'student_code', 'null'::jsonb))
                           ORDER BY n)
                  FROM jsonb_array_elements(result -> 'on_loan') WITH ORDINALITY AS x(m, n)),
                '[]'::jsonb))
         WHERE result ? 'on_loan'
        """
    )

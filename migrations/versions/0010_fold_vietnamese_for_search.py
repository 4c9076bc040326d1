"""search names without their diacritics: fold_vi()

People type names without diacritics ("Sung", "giang", "nam po") where they are stored with
them ("Sùng", "Giàng", "Nậm Pồ"); searching found nothing. PostgreSQL's `unaccent` extension
is not in every server this runs on (the embedded one has none), so this is a plain SQL
function: each Vietnamese vowel with its marks, in both cases, and đ/Đ become the bare ASCII
letter, and the combining marks of a decomposed (NFD) name — as Unikey's "Unicode tổ hợp"
or macOS may type it — are removed, so both forms fold alike; then everything is
lower-cased. IMMUTABLE and a single expression, so PostgreSQL inlines it into the query.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

import unicodedata
from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MARKED = "àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ"
MARKED = _MARKED + _MARKED.upper()
# The same letters bare: the first character of each one's decomposition; đ/Đ → d.
BARE = "".join("d" if c in "đĐ" else unicodedata.normalize("NFD", c)[0].lower() for c in MARKED)
# Combining grave, acute, tilde, hook above, dot below, circumflex, breve, horn: listed after
# the letters with nothing opposite them, translate() deletes them.
COMBINING = "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION fold_vi(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE"
        f" AS $$ SELECT lower(translate($1, '{MARKED}{COMBINING}', '{BARE}')) $$"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION fold_vi(text)")

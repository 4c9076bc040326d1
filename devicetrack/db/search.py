"""Text search as people type it: any case, with or without Vietnamese diacritics."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, func, literal


def like_escape(text: str) -> str:
    """`text` for a LIKE pattern, its own characters (%, _, \\) taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(text: str) -> str:
    """A LIKE pattern for "contains `text`"."""
    return f"%{like_escape(text.strip())}%"


def folded_contains(column: Any, text: str) -> ColumnElement[bool]:
    """`column` contains `text`, ignoring case and diacritics ("sung" finds "Sùng A Páo"),
    through the SQL function fold_vi (migration 0010)."""
    needle = like_escape(unicodedata.normalize("NFC", text.strip()))
    return func.fold_vi(column).like(func.concat("%", func.fold_vi(literal(needle)), "%"))

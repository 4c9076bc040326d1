"""Reading what people type in a spreadsheet: Vietnamese or English, with or without
diacritics, in any case.

An import's column headers and the values of its listed columns (a kind, a priority flag, a
school level) are matched after folding: "Mẫu máy", "mau may" and "MAU_MAY" are one header,
"Hộ nghèo" and "ho ngheo" one flag. Each domain names its words in its own `words.py`; the
pages' labels and words (web/catalogue.py) are among them, which tests/test_import_words.py
checks, so what the pages show an import accepts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Generic, TypeVar

E = TypeVar("E", bound=StrEnum)

_SEPARATORS = re.compile(r"[\s_\-]+")


def fold(text: str) -> str:
    """`text` without diacritics (đ as d), in lower case, with spaces, underscores and
    hyphens as one space: the form two spellings of one word share."""
    decomposed = unicodedata.normalize("NFD", text.strip().lower().replace("đ", "d"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", bare).strip()


def folded_map(words: Mapping[str, str]) -> dict[str, str]:
    """`words` (a spelling -> what it means) keyed by their folded form; two spellings that
    fold alike must mean the same."""
    out: dict[str, str] = {}
    for word, meaning in words.items():
        key = fold(word)
        if out.setdefault(key, meaning) != meaning:
            raise ValueError(f"{word!r} folds to {key!r}, which already means {out[key]!r}")
    return out


class Words(Generic[E]):
    """The words of one value list: for each member, its name in Vietnamese and in English
    (what the pages and the import templates show), then any other spelling people use."""

    def __init__(self, enum: type[E], names: Mapping[E, Sequence[str]]) -> None:
        missing = set(enum) - set(names)
        if missing:
            raise ValueError(f"{enum.__name__}: no words for {sorted(missing)}")
        self.enum = enum
        self.codes = [str(member) for member in enum]
        self.names = dict(names)
        spellings = {str(member): str(member) for member in enum}
        spellings |= {name: str(member) for member, all in names.items() for name in all}
        self._by_fold = folded_map(spellings)

    def read(self, text: str) -> E | None:
        """The member `text` names (its code or any of its words), or None."""
        code = self._by_fold.get(fold(text))
        return None if code is None else self.enum(code)

    def name(self, member: E, lang: str) -> str:
        """The member's name in `lang` ("vi" or "en")."""
        vi, en = self.names[member][:2]
        return vi if lang == "vi" else en

    def split(self, text: str) -> Iterable[str]:
        """The items of a cell that lists several ("Hộ nghèo; Khuyết tật")."""
        return (item.strip() for item in re.split(r"[;,\n]", text) if item.strip())

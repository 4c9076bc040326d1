"""The reader's language on paper. The translations belong to the web layer (web/i18n.py,
devicetrack/locale), which the domains do not import: the application hands a `Languages`
in (app.py), as it does the audit PDF's Vietnamese words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


class Language(Protocol):
    """What a record needs of a language: sentences (English keys) and stored codes
    (tablet, good) as the reader's words."""

    lang: str

    def __call__(self, text: str, **values: Any) -> str: ...

    def word(self, value: str | None) -> str: ...


# A language by its code ("vi", "en"): web.i18n.Translator.
Languages = Callable[[str], Language]


def place_and_date(language: Language, place: str, day: date) -> str:
    """The line above a record's title: "Điện Biên, ngày 05 tháng 09 năm 2025"."""
    if language.lang == "vi":
        return f"{place}, ngày {day:%d} tháng {day:%m} năm {day:%Y}"
    return f"{place}, {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def short_date(language: Language, day: date | None) -> str:
    if day is None:
        return "–"
    return f"{day:%d/%m/%Y}" if language.lang == "vi" else day.isoformat()

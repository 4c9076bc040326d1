"""Messages by id, in the reader's language.

Every sentence a person reads is written once, in English, where it is said: in code as
`N_("No device {tag}.")`, in a template as `_("Devices")`. That English is the message id.
Each language's translations live in `devicetrack/locale/<lang>/LC_MESSAGES/devicetrack.po`,
a file a translator edits; `devicetrack i18n extract` brings new ids into it and
`devicetrack i18n compile` writes the `.mo` beside it. A language exists when its catalogue
does (`languages()`); English is the language of the ids, so its catalogue may stay empty.

A message's values fill `{name}` placeholders (str.format) after translation, so a
translation may move them; `{n:,}` groups a number's digits the reader's way (1,000 /
1.000). A message that counts is marked with `N_plural` and takes its count as `n`, so
gettext picks the form each language has ("1 device", "2 devices"; Vietnamese has one).

This module sits below `errors` in the layers: it knows nothing of requests or users.
"""

from __future__ import annotations

import logging
import string
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from devicetrack.i18n.marks import N_, Message, N_plural, Term
from devicetrack.i18n.terms import WORDS

__all__ = ["N_", "Message", "N_plural", "Term", "english", "languages", "translate"]
log = logging.getLogger("devicetrack.i18n")

DOMAIN = "devicetrack"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
# The message ids are English: a message with no translation is shown as it is written.
SOURCE_LANGUAGE = "en"
# Babel's locale for each language's numbers and dates (Vietnam's conventions for vi).
_BABEL_LOCALE = {"vi": "vi_VN"}


@cache
def languages() -> tuple[str, ...]:
    """The languages with a catalogue, the source language first."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return (SOURCE_LANGUAGE, *sorted(found - {SOURCE_LANGUAGE}))


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> Translations:
    """The language's compiled catalogue: its `.mo` when one was compiled from the current
    `.po`, else the `.po` compiled in memory (a fresh clone needs no build step)."""
    po = catalogue_path(lang)
    if not po.exists():
        return Translations()  # unknown language: the English ids as they are
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as file:
            return Translations(file, domain=DOMAIN)
    with po.open("rb") as file:
        catalog = read_po(file, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def babel_locale(lang: str) -> str:
    return _BABEL_LOCALE.get(lang, lang)


class _Formatter(string.Formatter):
    """str.format, except that `{n:,}` groups digits by the reader's locale."""

    def __init__(self, lang: str) -> None:
        self.locale = babel_locale(lang)

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "," and isinstance(value, int | float) and not isinstance(value, bool):
            return str(format_decimal(value, format="#,##0.###", locale=self.locale))
        return str(super().format_field(value, format_spec))


def translate(text: str, lang: str, *, count: int | None = None, **params: Any) -> str:
    """`text` in `lang`, its placeholders filled from the message's values and `params`.
    A text with no translation (a value, a third party's message) is shown as it is.
    A message that counts picks its form by `count`, else by its value `n`."""
    instead = getattr(text, "instead", None)
    if instead is not None and lang != SOURCE_LANGUAGE:
        return translate(instead, lang, count=count, **params)
    catalogue = translations(lang if lang in languages() else SOURCE_LANGUAGE)
    values = {k: _value(v, lang) for k, v in {**getattr(text, "params", {}), **params}.items()}
    plural = getattr(text, "plural", None)
    if count is None:
        n = values.get("n")
        count = n if isinstance(n, int) else 1
    out = catalogue.ngettext(text, plural, count) if plural is not None else catalogue.gettext(text)
    if not values:
        return str(out)
    try:
        return _Formatter(lang).vformat(out, (), values)
    except (KeyError, IndexError, ValueError, AttributeError):
        # A translation that names a placeholder the message lacks (tests/test_messages.py
        # refuses one), or a message given too few values: the English, else the bare id,
        # rather than no answer at all.
        log.warning("message %r does not format in %s with %s", str(text), lang, sorted(values))
    english = text if plural is None or count == 1 else plural
    try:
        return _Formatter(SOURCE_LANGUAGE).vformat(english, (), values)
    except (KeyError, IndexError, ValueError, AttributeError):
        return str(english)


def _value(value: Any, lang: str) -> Any:
    """A message's value as the message shows it: a message in it is translated too, a
    stored code is shown as its word except in English (marks.Term)."""
    if isinstance(value, Message):
        return translate(value, lang)
    if isinstance(value, Term) and lang != SOURCE_LANGUAGE:
        return translate(WORDS.get(value, value), lang)
    return value


def english(text: str, **params: Any) -> str:
    """The message in English: for logs, the command line and exceptions' own text."""
    return translate(text, SOURCE_LANGUAGE, **params)


def choose_language(accept_language: str | None, user_locale: str | None) -> str:
    """The language of an API answer: the first language of `Accept-Language` (by its
    weights) that has a catalogue; without one, the signed-in user's language when it has a
    catalogue; else English, the language of the API's own names."""
    for tag in _accepted(accept_language or ""):
        primary = tag.split("-", 1)[0].lower()
        if primary in languages():
            return primary
    if user_locale in languages():
        return str(user_locale)
    return SOURCE_LANGUAGE


def _accepted(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (RFC 9110 12.5.4);
    a weight of 0 means "not this one"."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        if tag and tag != "*" and weight > 0:
            weighted.append((-weight, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]

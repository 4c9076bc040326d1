"""Numbers on the pages: whole numbers are grouped without Babel (a province's dashboard
writes 1,600 of them), and must read exactly as Babel writes them in each language."""

from __future__ import annotations

import random

import pytest
from babel.numbers import format_decimal

from devicetrack.i18n import babel_locale
from devicetrack.web.i18n import LANGUAGES, Translator

WHOLE = [0, 1, -1, 7, 999, 1000, -1000, 12345, 999_999, 1_000_000, 5_000_000, 2**31, -(2**40)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_whole_numbers_read_as_babel_writes_them(lang: str) -> None:
    t = Translator(lang)
    rng = random.Random(5)
    for value in [*WHOLE, *(rng.randrange(-(10**12), 10**12) for _ in range(2000))]:
        expected = format_decimal(value, format="#,##0", locale=babel_locale(lang))
        assert t.number(value) == expected, value


@pytest.mark.parametrize("lang", LANGUAGES)
def test_shares_read_as_babel_writes_them_every_time(lang: str) -> None:
    t = Translator(lang)
    for value in (0.0, 0.05, 0.25, 0.35, 33.333333, 50.0, 99.95, 100.0, 1234.5, 2.0):
        expected = format_decimal(value, format="#,##0.0", locale=babel_locale(lang))
        assert t.number(value, 1) == t.number(value, 1) == expected, value
    # A cached -0.0 does not answer for 0.0, nor the other way round.
    for value in (-0.0, 0.0, -0.0):
        expected = format_decimal(value, format="#,##0.0", locale=babel_locale(lang))
        assert t.number(value, 1) == expected, value
    assert t.number(None) == "–"
    assert Translator("en").number(1234567) == "1,234,567"
    assert Translator("vi").number(1234567) == "1.234.567"
    assert Translator("vi").number(12345.5, 1) == "12.345,5"

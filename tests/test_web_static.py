"""What the pages are made of: every string has its Vietnamese, the palette is readable,
and nothing is loaded from outside the app (a school intranet has no internet)."""

from __future__ import annotations

import re
from pathlib import Path

from devicetrack.i18n import Message, Term
from devicetrack.i18n.catalogues import read
from devicetrack.web.i18n import FIELDS, WORDS, Translator
from devicetrack.web.render import DONE_MESSAGES

WEB = Path(__file__).resolve().parent.parent / "devicetrack" / "web"
CALL = re.compile(r"""(?<![A-Za-z_.])(?:_|t)\(\s*(["'])(.+?)\1""")


def shown_strings() -> set[str]:
    found: set[str] = set(WORDS.values()) | set(FIELDS.values()) | set(DONE_MESSAGES.values())
    for template in (WEB / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        found |= {m.group(2) for m in CALL.finditer(text)}
        found |= set(re.findall(r'sort_link\("([^"]+)"', text))
    for module in WEB.glob("*.py"):
        found |= set(re.findall(r'error="([^"]+)"', module.read_text(encoding="utf-8")))
    return found


def test_every_string_on_the_pages_has_its_vietnamese() -> None:
    """Found by reading the templates and pages as text, apart from the Babel extraction
    (tests/test_messages.py): each is a message of the Vietnamese catalogue, translated."""
    strings = shown_strings()
    assert len(strings) > 200  # the extraction really found the pages' text
    catalogue = read("vi")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(s for s in strings if s not in translated)
    assert missing == []


def test_dates_and_numbers_follow_the_language() -> None:
    from datetime import UTC, date, datetime

    vi, en = Translator("vi"), Translator("en")
    assert vi.date(date(2026, 7, 4)) == "04/07/2026"
    assert en.date(date(2026, 7, 4)) == "4 Jul 2026"
    # 23:30 UTC is already the next morning in Vietnam.
    assert vi.date(datetime(2026, 7, 4, 23, 30, tzinfo=UTC)) == "05/07/2026 06:30"
    assert vi.number(12345.5, 1) == "12.345,5" and en.number(12345.5, 1) == "12,345.5"
    assert vi.word("in_stock") == "Trong kho" and en.word("in_stock") == "In stock"


def test_refusals_with_values_are_translated_too() -> None:
    """A refusal is its message id and values: the values fill the translation, and a
    stored code among them is shown as its word (in English, as stored)."""
    vi, en = Translator("vi"), Translator("en")
    refused = Message(
        "Cannot {action} a device that is {status}.",
        action=Term("report-lost"),
        status=Term("retired"),
    )
    said = vi(refused)
    assert said == "Không thể thực hiện “Báo mất” với thiết bị đang ở trạng thái Đã thanh lý."
    assert en(refused) == "Cannot report-lost a device that is retired."
    missing = Message("No device {tag}.", tag="DT11-000007-3")
    assert vi(missing) == "Không có thiết bị DT11-000007-3."
    assert vi("A detail nobody translated yet.") == "A detail nobody translated yet."
    assert en(missing) == "No device DT11-000007-3."


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_palette_is_readable() -> None:
    css = (WEB / "static" / "app.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    pairs = [
        ("ink", "paper"),
        ("ink", "soft"),
        ("muted", "paper"),
        ("muted", "soft"),
        ("brand", "paper"),
        ("brand", "soft"),
        ("brand-ink", "brand"),
        ("ok", "paper"),
        ("bad", "paper"),
        ("paper", "bad"),  # the danger button: white on the bad colour
    ]
    for fg, bg in pairs:
        assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
    # The notice and problem boxes use fixed tints behind the ok/bad colours.
    assert contrast(colours["ok"], "#e6f4ea") >= 4.5
    assert contrast(colours["bad"], "#fdecea") >= 4.5


def test_nothing_is_loaded_from_outside_the_app() -> None:
    for path in [*(WEB / "templates").glob("*.html"), *(WEB / "static").glob("*")]:
        text = path.read_text(encoding="utf-8")
        outside = re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", text)
        assert outside == [], path.name

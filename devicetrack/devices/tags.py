"""Asset tags: `DT` + province code + `-` + 6-digit per-province sequence + `-` + check digit,
e.g. `DT11-000123-7`.

The check digit is ISO/IEC 7064 MOD 11,10 over the eight digits (province + sequence). It
catches every single-digit typing error and nearly every swap of two adjacent digits, and
it is a digit, so the whole tag after `DT` can be typed on a numeric keypad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devicetrack.i18n import N_

PREFIX = "DT"
# A tag typed with the wrong check character, as a row's or a scan's problem.
WRONG_CHECK = N_("check character wrong: did you mean {tag}?")
_COMPACT = re.compile(r"^DT(\d{2})(\d{6})(\d)$")


def check_digit(digits: str) -> str:
    """ISO/IEC 7064 MOD 11,10 check digit for a string of decimal digits."""
    product = 10
    for ch in digits:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    return str((11 - product) % 10)


def format_tag(province_code: str, sequence: int) -> str:
    if not (len(province_code) == 2 and province_code.isdigit()):
        raise ValueError("province code must be two digits")
    if not 0 < sequence <= 999_999:
        raise ValueError("sequence must be 1..999999")
    body = f"{province_code}{sequence:06d}"
    return f"{PREFIX}{province_code}-{sequence:06d}-{check_digit(body)}"


@dataclass(frozen=True)
class ParsedTag:
    tag: str  # canonical form
    province_code: str
    sequence: int
    check_ok: bool
    expected: str  # the tag with the right check digit


def compact(code: str) -> str:
    """What a person or scanner typed, without case, spaces or dashes."""
    return re.sub(r"[^0-9A-Z]", "", code.upper())


def parse_tag(code: str) -> ParsedTag | None:
    """Parse a tag typed in any case, with or without dashes. None when it is not shaped
    like a tag at all; check_ok False when only the check digit is wrong."""
    match = _COMPACT.match(compact(code))
    if not match:
        return None
    province, seq, given = match.groups()
    expected = format_tag(province, int(seq)) if int(seq) > 0 else ""
    canonical = f"{PREFIX}{province}-{seq}-{given}"
    return ParsedTag(
        tag=canonical,
        province_code=province,
        sequence=int(seq),
        check_ok=bool(expected) and canonical == expected,
        expected=expected,
    )


def _step(product: int, digit: int) -> int:
    total = (digit + product) % 10 or 10
    return (total * 2) % 11


_SUFFIX_CHECKS: dict[int, list[str]] = {}


def _suffix_checks(product: int) -> list[str]:
    """Check digits for all 1000 three-digit endings, given the state after the rest."""
    table = _SUFFIX_CHECKS.get(product)
    if table is None:
        table = []
        for n in range(1000):
            p = product
            for d in (n // 100, n // 10 % 10, n % 10):
                p = _step(p, d)
            table.append(str((11 - p) % 10))
        _SUFFIX_CHECKS[product] = table
    return table


def format_tags(province_code: str, first: int, count: int) -> list[str]:
    """`count` consecutive tags from sequence `first`: the same as format_tag for each,
    ~10× faster for bulk intake (the check digit of the last three digits is looked up)."""
    if first < 1 or first + count - 1 > 999_999:
        raise ValueError("sequence must stay within 1..999999")
    tags: list[str] = []
    prefix = f"{PREFIX}{province_code}-"
    seq = first
    end = first + count
    while seq < end:
        block, start = divmod(seq, 1000)
        stop = min(end - block * 1000, 1000)
        product = 10
        for ch in f"{province_code}{block:03d}":
            product = _step(product, ord(ch) - 48)
        checks = _suffix_checks(product)
        head = f"{prefix}{block:03d}"
        tags.extend(f"{head}{n:03d}-{checks[n]}" for n in range(start, stop))
        seq = block * 1000 + stop
    return tags

"""Checks of a device's identity numbers: IMEI, ICCID, Vietnamese MSISDN, dates."""

from __future__ import annotations

import re
from datetime import date, datetime

_NON_DIGITS = re.compile(r"[\s\-.()]")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def check_imei(value: str) -> tuple[str | None, str | None]:
    """(normalised IMEI, error message)."""
    digits = _NON_DIGITS.sub("", value)
    if len(digits) != 15 or not digits.isdigit():
        return None, "must be exactly 15 digits"
    if not luhn_ok(digits):
        return None, "check digit is wrong"
    return digits, None


def check_iccid(value: str) -> tuple[str | None, str | None, str | None]:
    """(normalised ICCID, error, warning). A failed Luhn check is only a warning: some
    carriers print ICCIDs without a valid check digit."""
    digits = _NON_DIGITS.sub("", value)
    if not digits.isdigit():
        return None, "must contain digits only", None
    if not 18 <= len(digits) <= 20:
        return None, "must be 18 to 20 digits long", None
    if not digits.startswith("89"):
        return None, "must start with 89 (telecom industry identifier)", None
    warning = None if luhn_ok(digits) else "Luhn check digit does not match; kept as given"
    return digits, None, warning


def normalise_msisdn(value: str) -> tuple[str | None, str | None]:
    """A Vietnamese number as +84 followed by the national significant number (9 or 10
    digits). Accepts 0912…, 84912…, +84 912 …"""
    text = _NON_DIGITS.sub("", value)
    if text.startswith("+"):
        text = text[1:]
        if not text.startswith("84"):
            return None, "must be a Vietnamese number (+84…)"
    if not text.isdigit():
        return None, "must be a phone number"
    if text.startswith("84") and len(text) in (11, 12):
        national = text[2:]
    elif text.startswith("0") and len(text) in (10, 11):
        national = text[1:]
    else:
        return None, "must be a Vietnamese number like 0912345678 or +84912345678"
    if national.startswith("0"):
        return None, "must be a Vietnamese number like 0912345678 or +84912345678"
    return "+84" + national, None


def parse_date(value: str) -> date:
    """ISO dates (2025-07-14) and the Vietnamese day-first form (14/07/2025)."""
    value = value.strip()
    try:
        if "/" in value:
            return datetime.strptime(value, "%d/%m/%Y").date()
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError("must be a date like 2025-07-14 or 14/07/2025") from None

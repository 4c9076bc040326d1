"""Checks of a device's identity numbers: IMEI, ICCID, Vietnamese MSISDN, dates."""

from __future__ import annotations

import re
from datetime import date, datetime

from devicetrack.i18n import N_

_NON_DIGITS = re.compile(r"[\s\-.()]")


# A digit's contribution when it is doubled in the Luhn sum (2×d, less 9 when over 9).
_DOUBLED = {str(d): (2 * d if d < 5 else 2 * d - 9) for d in range(10)}


def luhn_ok(digits: str) -> bool:
    """The Luhn check over a string of ASCII digits. Counted from the right, the digits in
    even places are doubled; summed with map() rather than a Python loop, since intake runs
    it for every IMEI and ICCID of an upload."""
    kept = sum(map(int, digits[-1::-2]))
    doubled = sum(map(_DOUBLED.__getitem__, digits[-2::-2]))
    return (kept + doubled) % 10 == 0


def luhn_digit(body: str) -> str:
    """The check digit that makes `body` + digit pass the Luhn check."""
    return next(d for d in "0123456789" if luhn_ok(body + d))


def check_imei(value: str) -> tuple[str | None, str | None]:
    """(normalised IMEI, error message)."""
    digits = _NON_DIGITS.sub("", value)
    # isascii too: str.isdigit() also accepts other scripts' digits, which no IMEI has.
    if len(digits) != 15 or not (digits.isascii() and digits.isdigit()):
        return None, N_("must be exactly 15 digits")
    if not luhn_ok(digits):
        return None, N_("check digit is wrong")
    return digits, None


def check_iccid(value: str) -> tuple[str | None, str | None, str | None]:
    """(normalised ICCID, error, warning). A failed Luhn check is only a warning: some
    carriers print ICCIDs without a valid check digit."""
    digits = _NON_DIGITS.sub("", value)
    if not (digits.isascii() and digits.isdigit()):
        return None, N_("must contain digits only"), None
    if not 18 <= len(digits) <= 20:
        return None, N_("must be 18 to 20 digits long"), None
    if not digits.startswith("89"):
        return None, N_("must start with 89 (telecom industry identifier)"), None
    warning = None if luhn_ok(digits) else N_("Luhn check digit does not match; kept as given")
    return digits, None, warning


def normalise_msisdn(value: str) -> tuple[str | None, str | None]:
    """A Vietnamese number as +84 followed by the national significant number (9 or 10
    digits). Accepts 0912…, 84912…, +84 912 …"""
    text = _NON_DIGITS.sub("", value)
    if text.startswith("+"):
        text = text[1:]
        if not text.startswith("84"):
            return None, N_("must be a Vietnamese number (+84…)")
    if not (text.isascii() and text.isdigit()):
        return None, N_("must be a phone number")
    if text.startswith("84") and len(text) in (11, 12):
        national = text[2:]
    elif text.startswith("0") and len(text) in (10, 11):
        national = text[1:]
    elif (len(text) == 9 and text[0] in "35789") or (len(text) == 10 and text[0] == "2"):
        # A spreadsheet stripped the leading 0 of a mobile (9 digits) or landline number.
        national = text
    else:
        return None, N_("must be a Vietnamese number like 0912345678 or +84912345678")
    if national.startswith("0"):
        return None, N_("must be a Vietnamese number like 0912345678 or +84912345678")
    return "+84" + national, None


def display_msisdn(value: str | None) -> str:
    """A stored number (+84…, E.164, as the API keeps it) as people write it in Vietnam:
    0912 345 678 (a landline's longer number 0215 382 6789). Anything else as it is."""
    if not value or not value.startswith("+84"):
        return value or ""
    national = "0" + value[3:]
    if len(national) == 10:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    if len(national) == 11:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    return value


def parse_date(value: str) -> date:
    """ISO dates (2025-07-14) and the Vietnamese day-first form (14/07/2025)."""
    value = value.strip()
    try:
        if "/" in value:
            return datetime.strptime(value, "%d/%m/%Y").date()
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(N_("must be a date like 2025-07-14 or 14/07/2025")) from None

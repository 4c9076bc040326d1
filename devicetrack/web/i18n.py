"""Vietnamese and English for every page: labels, domain words, errors and dates.

Strings are written in English in the templates and code (`_("Devices")`) and translated
by gettext from the catalogues in `devicetrack/locale/` (devicetrack.i18n); a test checks
that every one of them has its Vietnamese. Dates and numbers follow the reader's language
by Babel's rules for vi_VN and en: dd/mm/yyyy and 12.345,5 in Vietnamese, "22 Nov 2026"
and 12,345.5 in English, in Vietnam's time zone (UTC+7, no daylight saving)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_decimal, get_group_symbol

from devicetrack.auth.values import Locale
from devicetrack.common.clock import VIETNAM
from devicetrack.i18n import N_, N_plural, babel_locale, translate
from devicetrack.i18n.terms import WORDS

LANGUAGES = tuple(Locale)
# The day as each language writes it (Babel patterns): Vietnamese offices write 04/07/2026.
_DATE_PATTERN = {"vi": "dd/MM/y", "en": "d MMM y"}


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "vi"
        self.locale = babel_locale(self.lang)

    def __call__(self, text: str, **values: Any) -> str:
        """`text` (a message id, or a Message with its values) in the reader's language;
        a text that is no message (a name, a value) is shown as it is."""
        return translate(text, self.lang, **values)

    def ngettext(self, singular: str, plural: str, count: int, /, **values: Any) -> str:
        """A message that counts, in the form the count needs ("1 device", "2 devices");
        `{n}` shows the count unless `values` give it another form (`n=t.number(count)`)."""
        return translate(
            N_plural(singular, plural), self.lang, count=count, **{"n": count, **values}
        )

    def translate_count(self, message: str, count: int | None) -> str:
        """A message with a count `{n}` (its form chosen by the count); an unknown count
        shows as nothing."""
        return translate(message, self.lang, count=count or 0, n="" if count is None else count)

    def word(self, value: str | None) -> str:
        """A stored code (in_stock, laptop, poor_household…) as a reader's word."""
        if value is None:
            return "–"
        return self(WORDS.get(value, value))

    def event(self, action: str) -> str:
        """History rows reuse some status names (allocated, assigned) as event names."""
        if action.startswith("closed: "):
            return self(N_("Loan closed")) + " · " + self.event(action[len("closed: ") :])
        return self(WORDS.get(f"{action}-event") or WORDS.get(action, action))

    def field(self, name: str | None) -> str:
        """A field's name as its form label (`student_code` → "Student code")."""
        if not name:
            return "–"
        base = name.split("[", 1)[0]
        return self(FIELDS.get(base, base))

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return "–"
        if isinstance(value, datetime):
            local = value.astimezone(VIETNAM)
            return f"{self.date(local.date())} {format_time(local, 'HH:mm', locale=self.locale)}"
        return str(format_date(value, _DATE_PATTERN.get(self.lang, "d MMM y"), locale=self.locale))

    def number(self, value: int | float | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        if type(value) is int and digits == 0:
            # Babel's "#,##0" for a whole number is Python's grouping in threes with the
            # language's separator, at a fortieth of the cost: a province's dashboard
            # writes 1,600 numbers (tested equal in test_i18n_numbers).
            return f"{value:,}".replace(",", _group_symbol(self.lang))
        if type(value) is float and value == value:
            # Cached by the float's repr, which tells -0.0 from 0.0 (an equal key would
            # not); NaN equals nothing, so it is not cached.
            return _share(repr(value), digits, self.lang)
        return _babel_number(value, digits, self.lang)


@lru_cache(maxsize=len(LANGUAGES))
def _group_symbol(lang: str) -> str:
    return str(get_group_symbol(babel_locale(lang)))


# Shares and ratios repeat (a percentage with one decimal has 1,001 values): each is
# formatted by Babel once per language.
@lru_cache(maxsize=8192)
def _share(text: str, digits: int, lang: str) -> str:
    return _babel_number(float(text), digits, lang)


def _babel_number(value: float | int, digits: int, lang: str) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return str(format_decimal(value, format=pattern, locale=babel_locale(lang)))


# Field names that errors report, as the label the form shows.
FIELDS: dict[str, str] = {
    "student_code": N_("Student code"),
    "full_name": N_("Full name"),
    "grade": N_("Grade"),
    "class_name": N_("Class"),
    "priority": N_("Priority"),
    "guardian_name": N_("Guardian"),
    "guardian_phone": N_("Guardian's phone"),
    "given_by": N_("Given by"),
    "given_at": N_("Date"),
    "method": N_("How"),
    "kind": N_("Kind"),
    "make": N_("Make"),
    "model": N_("Model"),
    "serial": N_("Serial"),
    "imei": N_("IMEI"),
    "iccid": N_("ICCID"),
    "msisdn": N_("Phone number"),
    "carrier": N_("Carrier"),
    "condition": N_("Condition"),
    "asset_tag": N_("Asset tag"),
    "asset_tags": N_("Asset tag"),
    "tags": N_("Asset tags, one per line"),
    "note": N_("Note"),
    "quantity": N_("Quantity"),
    "copies": N_("Copies of each label"),
    "skip": N_("Skip labels already used on the sheet"),
    "template": N_("Label sheet"),
    "student_id": N_("Student"),
    "school_id": N_("School"),
    "file": N_("File"),
    "code": N_("Code"),
    "location": N_("Where (a room, or the whole school)"),
    "plan_expires_on": N_("Plan expires"),
    "national_id": N_("National ID"),
    # The administration pages' forms.
    "email": N_("Email"),
    "role": N_("Role"),
    "locale": N_("Language"),
    "school_ids": N_("Schools"),
    "school_codes": N_("School codes"),
    "user_id": N_("User"),
    # A school's, a donor's or an API key's (a person's is `full_name`).
    "name": N_("The name"),
    "short_name": N_("Short name"),
    "contact_name": N_("Contact person"),
    "contact_email": N_("Contact email"),
    "contact_phone": N_("Contact phone"),
    "country": N_("Country"),
    "levels": N_("Levels"),
    "address": N_("Address"),
    "former_district": N_("Former district"),
    "active": N_("In use"),
    "school_year": N_("School year"),
    "year": N_("School year"),
    "students_total": N_("Number of students"),
    "priority_students": N_("Priority students"),
    "birth_year": N_("Birth year"),
    # The account, password reset and invitation forms, and a few others whose errors
    # would otherwise show the form's field name (`password_again`) on the page.
    "password": N_("Password"),
    "current_password": N_("Current password"),
    "new_password": N_("New password"),
    "password_again": N_("The new password again"),
    "new_password_again": N_("The new password again"),
    "token": N_("Link"),
    "due_back_on": N_("Due back on"),
    "reference": N_("Reference"),
    "received_on": N_("Received on"),
    "wiped": N_("Wiped"),
    "photo": N_("Photo"),
    # Columns of the Excel exports (devices, coverage).
    "status": N_("Status"),
    "province_code": N_("Province code"),
    "province_name": N_("Province"),
    "commune_code": N_("Commune code"),
    "commune_name": N_("Commune"),
    "school_code": N_("School code"),
    "school_name": N_("School"),
    "schools": N_("Schools"),
    "donation_id": N_("Donation"),
    "donor_id": N_("Donor"),
    "donation": N_("Donation"),
    "donor": N_("Donor"),
    "school": N_("School"),
    "received_at": N_("Received"),
    "last_seen_at": N_("Last seen"),
    "warranty_until": N_("Warranty until"),
    "plan_name": N_("Plan"),
    "plan_quota_gb": N_("Data (GB)"),
    "paid_by": N_("Paid by"),
    "installed_in": N_("Installed in"),
    "installed_sim": N_("SIM in it"),
    "enrolled": N_("Enrolled"),
    "priority_enrolled": N_("Priority students"),
    "devices_held": N_("Devices held"),
    "devices_working": N_("Working devices"),
    "devices_incoming": N_("On the way"),
    "students_with_device": N_("Students with a device"),
    "coverage_pct": N_("Coverage (%)"),
    "devices_per_100": N_("Devices per 100 students"),
    "priority_with_device": N_("Priority students with a device"),
    "priority_coverage_pct": N_("Priority coverage (%)"),
    "students_connected": N_("Students connected"),
    "gap": N_("Gap"),
    "gap_after_incoming": N_("Still needed after delivery"),
    "last_audit_at": N_("Last audit"),
    "overdue_audit": N_("Audit overdue"),
    "activation_lock": N_("Activation lock"),
    "storage_gb": N_("Storage"),
    "ram_gb": N_("RAM (GB)"),
    "battery_health_pct": N_("Battery health"),
}

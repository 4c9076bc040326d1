"""Vietnamese and English for every page: labels, domain words, errors and dates.

Strings are written in English in the templates and code (`_("Devices")`) and looked up
here; a test checks that every one of them has a Vietnamese translation. Dates follow the
reader's language: dd/mm/yyyy in Vietnamese, "22 Nov 2026" in English, in Vietnam's time
zone (UTC+7, no daylight saving)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from devicetrack.auth.values import Locale
from devicetrack.common.clock import VIETNAM
from devicetrack.web.catalogue import PATTERNS, VI

LANGUAGES = tuple(Locale)
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "vi"

    def __call__(self, text: str, **values: Any) -> str:
        if self.lang != "vi":
            return text.format(**values) if values else text
        out = VI.get(text)
        if out is None:
            out = _by_pattern(text)
            if out is None:
                return text  # an untranslated detail is shown as it is, never lost
            return out
        return out.format(**values) if values else out

    def word(self, value: str | None) -> str:
        """A stored code (in_stock, laptop, poor_household…) as a reader's word."""
        if value is None:
            return "–"
        return self(WORDS.get(value, value))

    def event(self, action: str) -> str:
        """History rows reuse some status names (allocated, assigned) as event names."""
        if action.startswith("closed: "):
            return self("Loan closed") + " · " + self.event(action[len("closed: ") :])
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
            return f"{self.date(local.date())} {local:%H:%M}"
        if self.lang == "vi":
            return f"{value:%d/%m/%Y}"
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"

    def number(self, value: int | float | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        text = f"{value:,.{digits}f}"
        if self.lang == "vi":
            # Vietnamese groups thousands with dots and writes decimals with a comma.
            text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
        return text


_COMPILED = [(re.compile(p), vi) for p, vi in PATTERNS]


def _by_pattern(text: str) -> str | None:
    for pattern, vietnamese in _COMPILED:
        match = pattern.fullmatch(text)
        if match:
            # Status and action names inside a detail become words too.
            words = [VI.get(WORDS.get(g or "", ""), g or "") for g in match.groups()]
            return vietnamese.format(*words)
    return None


# Stored codes and the English words they are shown as (then translated like any text).
WORDS: dict[str, str] = {
    "in_stock": "In stock",
    "install-sim": "Install a SIM",
    "assign": "Lend",
    "return": "Take back",
    "viettel": "Viettel",
    "vinaphone": "VinaPhone",
    "mobifone": "MobiFone",
    "remove-sim": "Remove the SIM",
    "allocated": "Allocated",
    "at_school": "At school",
    "assigned": "Lent to a student",
    "in_repair": "In repair",
    "lost": "Lost",
    "stolen": "Stolen",
    "retired": "Retired",
    "laptop": "Laptop",
    "desktop": "Desktop",
    "tablet": "Tablet",
    "smartphone": "Smartphone",
    "sim": "SIM card",
    "router": "Router",
    "other": "Other",
    "new": "New",
    "good": "Good",
    "fair": "Fair",
    "poor": "Poor",
    "broken": "Broken",
    "poor_household": "Poor household",
    "ethnic_minority": "Ethnic minority",
    "disability": "Disability",
    "remote": "Remote area",
    "active": "Active",
    "left": "Left school",
    "graduated": "Graduated",
    "admin": "Administrator",
    "province_officer": "Province officer",
    "school_staff": "School staff",
    "donor": "Donor",
    "receive": "Receive",
    "send-to-repair": "Send to repair",
    "back-from-repair": "Back from repair",
    "report-lost": "Report lost",
    "report-stolen": "Report stolen",
    "found": "Found",
    "transfer": "Transfer",
    "retire": "Retire",
    "allocate": "Allocate",
    "registered": "Registered",
    "allocated-event": "Allocated",
    "received": "Received at school",
    "sent-to-repair": "Sent to repair",
    "reported-lost": "Reported lost",
    "reported-stolen": "Reported stolen",
    "transferred": "Transferred",
    "assigned-event": "Lent",
    "returned": "Returned",
    "audited": "Seen in an audit",
    "wiped": "Wiped",
    "sim-installed": "SIM installed",
    "sim-removed": "SIM removed",
    "edited": "Details changed",
    "paper": "Paper form",
    "digital": "Digital form",
    "recorded": "Recorded verbally",
    "guardian": "Guardian",
    "child": "The student",
    "primary": "Primary",
    "lower_secondary": "Lower secondary",
    "upper_secondary": "Upper secondary",
    "unknown": "Not checked",
    "clear": "No lock",
    "locked_icloud": "Locked to iCloud",
    "locked_google_frp": "Locked to Google (FRP)",
    "locked_mdm": "Locked by MDM",
}


# Field names that errors report, as the label the form shows.
FIELDS: dict[str, str] = {
    "student_code": "Student code",
    "full_name": "Full name",
    "grade": "Grade",
    "class_name": "Class",
    "priority": "Priority",
    "guardian_name": "Guardian",
    "guardian_phone": "Guardian's phone",
    "given_by": "Given by",
    "given_at": "Date",
    "method": "How",
    "kind": "Kind",
    "make": "Make",
    "model": "Model",
    "serial": "Serial",
    "imei": "IMEI",
    "iccid": "ICCID",
    "msisdn": "Phone number",
    "carrier": "Carrier",
    "condition": "Condition",
    "asset_tag": "Asset tag",
    "asset_tags": "Asset tag",
    "tags": "Asset tags, one per line",
    "note": "Note",
    "quantity": "Quantity",
    "copies": "Copies of each label",
    "skip": "Skip labels already used on the sheet",
    "template": "Label sheet",
    "student_id": "Student",
    "school_id": "School",
    "file": "File",
    "code": "Code",
    "location": "Where (a room, or the whole school)",
    "plan_expires_on": "Plan expires",
    "national_id": "National ID",
    "birth_year": "Birth year",
    # Columns of the Excel exports (devices, coverage).
    "status": "Status",
    "province_code": "Province code",
    "province_name": "Province",
    "commune_code": "Commune code",
    "commune_name": "Commune",
    "school_code": "School code",
    "school_name": "School",
    "schools": "Schools",
    "donation_id": "Donation",
    "donor_id": "Donor",
    "received_at": "Received",
    "last_seen_at": "Last seen",
    "warranty_until": "Warranty until",
    "plan_name": "Plan",
    "plan_quota_gb": "Data (GB)",
    "paid_by": "Paid by",
    "installed_in": "Installed in",
    "installed_sim": "SIM in it",
    "enrolled": "Enrolled",
    "priority_enrolled": "Priority students",
    "devices_held": "Devices held",
    "devices_working": "Working devices",
    "students_with_device": "Students with a device",
    "coverage_pct": "Coverage (%)",
    "devices_per_100": "Devices per 100 students",
    "priority_with_device": "Priority students with a device",
    "priority_coverage_pct": "Priority coverage (%)",
    "students_connected": "Students connected",
    "gap": "Gap",
    "last_audit_at": "Last audit",
    "overdue_audit": "Audit overdue",
    "activation_lock": "Activation lock",
    "storage_gb": "Storage",
    "ram_gb": "RAM (GB)",
    "battery_health_pct": "Battery health",
}

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from devicetrack.audits.limits import Location, Scanned
from devicetrack.audits.values import ScanOutcome
from devicetrack.common.limits import Note
from devicetrack.common.schemas import Body
from devicetrack.devices.values import Condition


class AuditCreate(Body):
    school_id: int
    location: Location | None = None
    # Students bring their loaned devices on audit day, so assigned ones are expected too.
    include_assigned: bool = True


class ScanIn(Body):
    code: Scanned | None = None
    asset_tag: Scanned | None = None
    condition: Condition | None = None
    note: Note | None = None
    scanned_at: datetime | None = None
    location: Location | None = None


class ScanBatch(Body):
    """One scan (the fields at the top level) or a batch in `scans` (collected offline).
    Each entry of a batch is checked on its own: a malformed entry is reported and the
    good ones are kept."""

    scans: list[dict[str, Any]] | None = None
    code: str | None = None
    asset_tag: str | None = None
    condition: str | None = None
    note: str | None = None
    scanned_at: str | None = None
    location: str | None = None


class ScanRejected(msgspec.Struct):
    index: int
    message: str
    code: str | None = None


class ScanEntry(msgspec.Struct, omit_defaults=True):
    """One entry of a batch, in the batch's order: what became of it."""

    index: int
    outcome: ScanOutcome
    # As recorded: the device's tag when the auditor may read the device, else as scanned.
    code: str | None = None
    message: str | None = None  # why it was rejected


class ScanResult(msgspec.Struct):
    accepted: int
    rejected: list[ScanRejected]
    found_so_far: int
    expected: int
    # Codes of this batch that name no device expected in this audit (kept: they are the
    # result's "unexpected"), so a scanner can tell the auditor at once.
    unexpected: list[str] = msgspec.field(default_factory=list)
    # Every entry of the batch with its outcome, so a scanner marks a scan good only once
    # the server has said so.
    entries: list[ScanEntry] = msgspec.field(default_factory=list)
    # Of the expected devices not seen yet: those lent to students, and the others.
    on_loan_so_far: int = 0
    missing_so_far: int = 0


class FoundItem(msgspec.Struct):
    asset_tag: str
    kind: str
    condition: str
    scanned_at: datetime


class MissingItem(msgspec.Struct):
    asset_tag: str
    kind: str
    status: str
    student_code: str | None = None


class OnLoanItem(msgspec.Struct, omit_defaults=True):
    """An expected device that was not scanned because a student has it at home: not
    missing. The school confirms it with the student, or skips it. Who the student is
    reaches only the school's staff and admins (service.read leaves it out for others)."""

    asset_tag: str
    kind: str
    due_back_on: date | None = None
    student_id: int | None = None
    student_code: str | None = None


class UnexpectedItem(msgspec.Struct):
    code: str
    reason: str
    asset_tag: str | None = None
    kind: str | None = None
    status: str | None = None
    held_by_school_id: int | None = None
    held_by_school_name: str | None = None
    held_by_province: str | None = None
    suggested_action: str | None = None


class AuditResult(msgspec.Struct):
    found: list[FoundItem]
    missing: list[MissingItem]
    unexpected: list[UnexpectedItem]
    # Expected, not scanned, and lent to a student: its own group, never counted missing.
    on_loan: list[OnLoanItem] = msgspec.field(default_factory=list)


class StillExpected(msgspec.Struct):
    """What an open audit has not seen yet, for the auditor to look for: the devices still
    to find, and the lent ones (confirm with the student, or skip). Each list holds at most
    the first `shown` by tag; the totals count them all."""

    to_find: list[MissingItem]
    to_find_total: int
    on_loan: list[OnLoanItem]
    on_loan_total: int


class AuditRead(msgspec.Struct):
    id: int
    school_id: int
    location: str | None
    include_assigned: bool
    started_at: datetime
    started_by: int | None
    closed_at: datetime | None
    expected: int
    scanned_codes: int
    scans_logged: int
    found: int
    missing: int
    unexpected: int
    # Expected devices lent to students and not scanned (not in `missing`).
    on_loan: int
    result: AuditResult | None = None


class AuditPage(msgspec.Struct):
    items: list[AuditRead]
    next_cursor: str | None


class ConditionPoint(msgspec.Struct):
    audit_id: int | None
    at: datetime | None
    conditions: dict[str, int]


class ConditionHistory(msgspec.Struct):
    school_id: int
    current: dict[str, int]
    audits: list[ConditionPoint]


class MarkLostResult(msgspec.Struct):
    marked_lost: list[str]
    skipped: list[str]

from __future__ import annotations

from datetime import date, datetime

import msgspec


class CoverageRow(msgspec.Struct, omit_defaults=False):
    level: str
    enrolled: int
    priority_enrolled: int
    devices_held: int
    devices_working: int
    # Held devices on their way: allocated to the school, not yet received.
    devices_incoming: int
    students_with_device: int
    priority_with_device: int
    students_connected: int
    coverage_pct: float | None
    priority_coverage_pct: float | None
    devices_per_100: float | None
    gap: int
    # The gap once the devices on their way are received (never below 0): what is still
    # to allocate.
    gap_after_incoming: int
    overdue_audit: int
    last_audit_at: datetime | None
    schools: int = 1
    school_id: int | None = None
    school_code: str | None = None
    school_name: str | None = None
    commune_code: str | None = None
    commune_name: str | None = None
    province_code: str | None = None
    province_name: str | None = None


class CoverageReport(msgspec.Struct):
    level: str
    year: str
    target_per_100: int
    as_of: date
    items: list[CoverageRow]
    # Rows at this level in all pages, and the cursor of the next page (None: the last).
    total_items: int = 0
    next_cursor: str | None = None


class GapItem(msgspec.Struct):
    school_id: int | None
    school_name: str | None
    commune_code: str | None
    commune_name: str | None
    enrolled: int
    devices_working: int
    devices_incoming: int
    gap: int
    gap_after_incoming: int
    coverage_pct: float | None
    # Devices of the province's stock that would close gap_after_incoming, by kind.
    suggested: dict[str, int]


class GapReport(msgspec.Struct):
    province_code: str | None
    level: str
    year: str
    target_per_100: int
    stock: dict[str, int]
    total_gap: int
    # The listed items' devices on their way, and their gaps once those arrive.
    total_incoming: int
    total_gap_after_incoming: int
    closable_from_stock: int
    summary: str
    items: list[GapItem]
    # Schools (or communes) still short once their devices on the way arrive, in all:
    # `items` lists the largest `limit` of them.
    short_total: int


class SchoolReached(msgspec.Struct):
    school_id: int
    school_name: str
    commune_code: str
    commune_name: str
    province_code: str
    devices: int


class SchoolsReachedPage(msgspec.Struct):
    items: list[SchoolReached]
    total_items: int
    next_cursor: str | None = None


class DonorImpact(msgspec.Struct):
    donor_id: int
    donor_name: str
    devices_total: int
    by_kind_status: dict[str, dict[str, int]]
    pledged: dict[str, int]
    received: dict[str, int]
    condition: dict[str, int]
    lost_or_stolen: int
    retired: int
    # The schools holding most of the donor's devices (at most 100, most devices first);
    # every one pages through /reports/donors/{id}/schools. The total counts them all.
    schools_reached: list[SchoolReached]
    schools_reached_total: int
    communes_reached: int
    provinces_reached: int
    students_reached: int
    students_with_device_now: int
    sims_expiring_30_days: int
    sims_expired: int
    # Devices not retired that are still locked to an account (iCloud, Google FRP, MDM):
    # they wait in stock until cleared. `activation_lock`: every lock value's count.
    locked: int = 0
    activation_lock: dict[str, int] = msgspec.field(default_factory=dict)


class SimStudent(msgspec.Struct):
    student_id: int
    student_code: str
    full_name: str | None


class SimExpiryGroup(msgspec.Struct):
    school_id: int | None
    school_name: str | None
    sims: int
    expired: int
    earliest_expiry: date | None
    students_affected: int
    students: list[SimStudent] | None = None


class SimToTopUp(msgspec.Struct):
    """One SIM whose plan ends within the window: what a carrier needs to top it up."""

    asset_tag: str
    iccid: str | None
    msisdn: str | None
    carrier: str | None
    plan_name: str | None
    plan_expires_on: date
    school_id: int | None
    school_name: str | None
    installed_in: str | None
    lent: bool


class SimExpiryReport(msgspec.Struct):
    # None: every SIM with an end date (asked for as `within_days=all`).
    within_days: int | None
    as_of: date
    total_sims: int
    items: list[SimExpiryGroup]
    # The SIMs themselves, soonest first (at most SIM_LIST_LIMIT; `sims_truncated` says more).
    sims: list[SimToTopUp] = msgspec.field(default_factory=list)
    sims_truncated: bool = False
    # The next page of schools in `items` (`cursor`); `total_sims` counts every page's.
    next_cursor: str | None = None


class AuditDueDevice(msgspec.Struct):
    asset_tag: str
    kind: str
    status: str
    school_id: int | None
    last_seen_at: datetime | None
    received_at: datetime


class AuditDueSchool(msgspec.Struct):
    school_id: int
    school_name: str
    last_audit_at: datetime | None
    devices_held: int


class AuditDueReport(msgspec.Struct):
    days: int
    as_of: date
    schools: list[AuditDueSchool]
    # Schools due in all pages, and the cursor of the next page of `schools` (None: last).
    schools_total: int
    devices: list[AuditDueDevice]
    devices_truncated: bool
    schools_next_cursor: str | None = None

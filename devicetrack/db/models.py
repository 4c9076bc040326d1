"""Imports every table model so SQLModel.metadata is complete (Alembic's target)."""

from devicetrack.allocations.models import Allocation, AllocationDevice, SchoolQuota
from devicetrack.audits.models import Audit, AuditExpected, AuditScan
from devicetrack.auth.models import ApiKey, AuthToken, LoginAttempt, User, UserSchool
from devicetrack.db.base import metadata
from devicetrack.devices.models import Device, DeviceEvent
from devicetrack.donations.models import Donation, LabelBatch, PledgedLine, TagSequence
from devicetrack.donors.models import Donor
from devicetrack.idempotency.models import IdempotencyKey
from devicetrack.regions.models import Commune, Province
from devicetrack.reports.models import SchoolConnected, SchoolCounts, SchoolSeen, StockCounts
from devicetrack.schools.models import Enrolment, School
from devicetrack.students.models import Assignment, Consent, Student

__all__ = [
    "Allocation",
    "AllocationDevice",
    "ApiKey",
    "Assignment",
    "Audit",
    "AuditExpected",
    "AuditScan",
    "AuthToken",
    "Commune",
    "Consent",
    "Device",
    "DeviceEvent",
    "Donation",
    "Donor",
    "Enrolment",
    "IdempotencyKey",
    "LabelBatch",
    "LoginAttempt",
    "PledgedLine",
    "Province",
    "School",
    "SchoolConnected",
    "SchoolCounts",
    "SchoolQuota",
    "SchoolSeen",
    "StockCounts",
    "Student",
    "TagSequence",
    "User",
    "UserSchool",
    "metadata",
]

"""Imports every table model so SQLModel.metadata is complete (Alembic's target).

It sits at the top of the package beside app.py because it imports every domain; db/ is
the foundation the domains build on and imports none of them (see the README's layers)."""

from devicetrack.accounts.models import Invitation, PasswordReset
from devicetrack.allocations.models import Allocation, AllocationDevice, SchoolQuota
from devicetrack.audits.models import Audit, AuditExpected, AuditScan
from devicetrack.auth.models import ApiKey, AuthToken, LoginAttempt, User, UserSchool
from devicetrack.db.base import metadata
from devicetrack.devices.models import Device, DeviceEvent
from devicetrack.digests.models import DigestOptOut
from devicetrack.donations.models import (
    Donation,
    DonationCounts,
    LabelBatch,
    PledgedLine,
    TagSequence,
)
from devicetrack.donors.models import Donor
from devicetrack.evidence.models import Evidence
from devicetrack.idempotency.models import IdempotencyKey
from devicetrack.jobs.models import JobRun
from devicetrack.mail.models import MailAttachment, MailMessage
from devicetrack.privacy.models import StudentAccess
from devicetrack.regions.models import Commune, Province
from devicetrack.reports.models import SchoolConnected, SchoolCounts, SchoolSeen, StockCounts
from devicetrack.schools.models import Enrolment, School
from devicetrack.students.models import Assignment, Consent, Student
from devicetrack.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookMessage,
    WebhookSubscription,
)

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
    "DigestOptOut",
    "Donation",
    "DonationCounts",
    "Donor",
    "Enrolment",
    "Evidence",
    "IdempotencyKey",
    "Invitation",
    "JobRun",
    "LabelBatch",
    "LoginAttempt",
    "MailAttachment",
    "MailMessage",
    "PasswordReset",
    "PledgedLine",
    "Province",
    "School",
    "SchoolConnected",
    "SchoolCounts",
    "SchoolQuota",
    "SchoolSeen",
    "StockCounts",
    "Student",
    "StudentAccess",
    "TagSequence",
    "User",
    "UserSchool",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookMessage",
    "WebhookSubscription",
    "metadata",
]

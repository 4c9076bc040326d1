"""The value lists of email, each defined here once (see devices/values.py)."""

from __future__ import annotations

from enum import StrEnum


class MailStatus(StrEnum):
    QUEUED = "queued"  # recorded, its job waiting or retrying
    SENT = "sent"  # handed to the SMTP server, or put in the outbox
    FAILED = "failed"  # refused for good, or every try failed


class Transport(StrEnum):
    SMTP = "smtp"
    OUTBOX = "outbox"

"""The value lists of accounts, each defined here once (see devices/values.py)."""

from __future__ import annotations

from enum import StrEnum


class InvitationStatus(StrEnum):
    """Where an invitation stands; worked out from its dates, not stored."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"

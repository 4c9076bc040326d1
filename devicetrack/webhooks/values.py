"""The value lists of webhooks, each defined here once (see devices/values.py)."""

from __future__ import annotations

from enum import StrEnum


class WebhookEvent(StrEnum):
    DEVICE_REGISTERED = "device.registered"
    DEVICE_ALLOCATED = "device.allocated"
    DEVICE_RECEIVED = "device.received"
    DEVICE_ASSIGNED = "device.assigned"
    DEVICE_RETURNED = "device.returned"
    # Any other change of status: repair, lost, stolen, found, transferred, retired.
    DEVICE_STATUS_CHANGED = "device.status_changed"
    SIM_EXPIRING = "sim.expiring"
    AUDIT_CLOSED = "audit.closed"
    DONATION_CREATED = "donation.created"


# What a donor's subscription may ask for: an audit is about a school, not about a donor's
# devices, so it is never sent to a donor.
NOT_FOR_DONORS = frozenset({WebhookEvent.AUDIT_CLOSED})


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first try or a retry
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # retried for DEVICETRACK_WEBHOOK_RETRY_HOURS, or its webhook disabled


class DisabledReason(StrEnum):
    """Why a subscription was turned off (null while it is on)."""

    FAILING = "failing"  # no success for webhook_disable_days (delivery.py)
    # The user who made it was deactivated: a departed officer's URL must not go on
    # receiving the province's events (accounts.users.update_user, and delivery.py at send
    # time).
    OWNER_DEACTIVATED = "owner_deactivated"

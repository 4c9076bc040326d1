"""The value lists of a device, each defined here once.

Every other place reads these enums: the msgspec bodies and query parameters (which refuse
any other value, naming the allowed ones), the import parsers, the page forms and their
templates, and the CHECK constraints of the table models. Migration 0015 writes the same
lists into the database as literals (a migration is a frozen snapshot) and
tests/test_value_lists.py fails if the live CHECKs and these enums drift apart.

The values are the stored and JSON wire codes; a `StrEnum` member *is* its code
(`DeviceKind.LAPTOP == "laptop"`), so rows read back as plain strings compare equal."""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    LAPTOP = "laptop"
    DESKTOP = "desktop"
    TABLET = "tablet"
    SMARTPHONE = "smartphone"
    SIM = "sim"
    ROUTER = "router"
    OTHER = "other"


class DeviceStatus(StrEnum):
    IN_STOCK = "in_stock"
    ALLOCATED = "allocated"
    AT_SCHOOL = "at_school"
    ASSIGNED = "assigned"
    IN_REPAIR = "in_repair"
    LOST = "lost"
    STOLEN = "stolen"
    RETIRED = "retired"


class Condition(StrEnum):
    NEW = "new"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    BROKEN = "broken"


class Carrier(StrEnum):
    """A SIM's network operator."""

    VIETTEL = "viettel"
    VINAPHONE = "vinaphone"
    MOBIFONE = "mobifone"
    OTHER = "other"


class ActivationLock(StrEnum):
    """Whether a used device is still tied to someone else's account: Apple's Activation
    Lock (iCloud), Google's Factory Reset Protection, or another organisation's MDM. A
    locked device cannot be set up by its next user."""

    UNKNOWN = "unknown"
    CLEAR = "clear"
    LOCKED_ICLOUD = "locked_icloud"
    LOCKED_GOOGLE_FRP = "locked_google_frp"
    LOCKED_MDM = "locked_mdm"


# The locks that keep a device from being lent or allocated until cleared (devices.lifecycle).
LOCKED = frozenset(
    {ActivationLock.LOCKED_ICLOUD, ActivationLock.LOCKED_GOOGLE_FRP, ActivationLock.LOCKED_MDM}
)

# Kinds a SIM can be installed in (a rule over the kinds, not a list of its own).
SIM_HOSTS = (DeviceKind.TABLET, DeviceKind.SMARTPHONE, DeviceKind.ROUTER)

"""The value lists of donors (see devices/values.py for who reads them and how the
database is kept in step)."""

from __future__ import annotations

from enum import StrEnum


class DonorKind(StrEnum):
    FOUNDATION = "foundation"
    COMPANY = "company"
    TELECOM = "telecom"
    GOVERNMENT = "government"
    INDIVIDUAL = "individual"
    OTHER = "other"

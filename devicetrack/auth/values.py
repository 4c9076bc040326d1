"""The value lists of users, each defined here once (see devices/values.py for who reads
them and how the database is kept in step)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PROVINCE_OFFICER = "province_officer"
    SCHOOL_STAFF = "school_staff"
    DONOR = "donor"


class Locale(StrEnum):
    """The languages pages are written in; a user's choice is kept on their account."""

    VI = "vi"
    EN = "en"

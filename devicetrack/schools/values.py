"""The value lists of schools (see devices/values.py for who reads them and how the
database is kept in step)."""

from __future__ import annotations

from enum import StrEnum


class SchoolLevel(StrEnum):
    """The levels a school teaches (a school may teach several)."""

    PRESCHOOL = "preschool"
    PRIMARY = "primary"
    LOWER_SECONDARY = "lower_secondary"
    UPPER_SECONDARY = "upper_secondary"
    CONTINUING = "continuing"

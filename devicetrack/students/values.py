"""The value lists of students and consents, each defined here once (see
devices/values.py for who reads them and how the database is kept in step)."""

from __future__ import annotations

from enum import StrEnum


class PriorityFlag(StrEnum):
    """Why a student has priority for a device (a student may have several)."""

    POOR_HOUSEHOLD = "poor_household"
    ETHNIC_MINORITY = "ethnic_minority"
    DISABILITY = "disability"
    REMOTE = "remote"


class StudentStatus(StrEnum):
    ACTIVE = "active"
    LEFT = "left"
    GRADUATED = "graduated"


class ConsentMethod(StrEnum):
    PAPER = "paper"
    DIGITAL = "digital"
    RECORDED = "recorded"


class ConsentSubject(StrEnum):
    """Whose consent: the guardian's, or the student's own (recorded from age 7)."""

    GUARDIAN = "guardian"
    CHILD = "child"

from __future__ import annotations

from datetime import datetime

import msgspec


class AccessRead(msgspec.Struct):
    """One read of a student's personal fields."""

    id: int
    at: datetime
    user_id: int
    # The user's and the student's current rows (None only if one were ever removed).
    user_name: str | None
    user_role: str | None
    student_id: int
    student_code: str | None
    school_id: int | None
    route: str


class AccessPage(msgspec.Struct):
    """Newest first; `next_cursor` continues with older reads."""

    items: list[AccessRead]
    next_cursor: str | None


class SweepResult(msgspec.Struct):
    # Students whose personal fields the sweep erased this time.
    pseudonymised: int
    # Due but refused by erasure (they still hold a device): left for the next run.
    skipped: int

from __future__ import annotations

import msgspec

from devicetrack.common.limits import Note
from devicetrack.common.schemas import Body
from devicetrack.custody.limits import Scanned
from devicetrack.devices.values import Condition
from devicetrack.students.schemas import AssignmentRead, LoanRead


class CollectScan(Body):
    """One device scanned in the end-of-year collection: its loan is closed. The condition
    it comes back in defaults to the one it was lent in; `wiped` says it was reset."""

    code: Scanned
    condition_in: Condition | None = None
    wiped: bool = False
    note: Note | None = None


class ClassOutstanding(msgspec.Struct):
    """One class's devices still out with students (class_name null: no class recorded)."""

    class_name: str | None
    loans: list[LoanRead]


class Outstanding(msgspec.Struct):
    """Who still holds a device of the school, class by class."""

    school_id: int
    total: int
    classes: list[ClassOutstanding]


class Collected(msgspec.Struct):
    """The loan closed by a scan, and how many devices are still out at the school."""

    returned: AssignmentRead
    still_out: int

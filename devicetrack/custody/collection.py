"""The end-of-year collection: every device comes back, graded and wiped. Staff scan
device after device; each scan closes the device's open loan through the ordinary return
(students/assignments.return_device: the same checks, event and counters), with the
condition it was lent in unless another is given. The school's list of who still holds a
device, class by class, shrinks as they do, and can be taken away as a workbook.

It names students: the school's staff and admins only; province officers and donors get
404, as for a school they cannot see."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import VIETNAM
from devicetrack.common.heavy import HeavyWork
from devicetrack.common.spreadsheet import DAY, Column, xlsx_file
from devicetrack.custody.schemas import ClassOutstanding, Collected, CollectScan, Outstanding
from devicetrack.devices import service as devices
from devicetrack.devices.photos import code_in
from devicetrack.devices.values import Condition
from devicetrack.errors import Conflict, NotFound
from devicetrack.i18n import N_, Term
from devicetrack.schools import service as schools
from devicetrack.students import assignments
from devicetrack.students import service as students
from devicetrack.students.schemas import AssignmentReturn, LoanRead

# A school's loans in one list: far more than any school lends.
MAX_LOANS = 100_000


async def _ensure_collector(session: AsyncSession, principal: Principal, school_id: int) -> None:
    await schools.get_school(session, principal, school_id)  # 404 outside the caller's scope
    if not students.sees_personal_data(principal, school_id):
        raise NotFound(N_("No school {id}."), id=school_id)


async def collect(
    session: AsyncSession, principal: Principal, school_id: int, scan: CollectScan
) -> Collected:
    """Close the open loan of the device scanned. A device of another school, or one that
    is not lent, is refused with 409 saying so (nothing changes)."""
    await _ensure_collector(session, principal, school_id)
    device = await devices.get_device(session, principal, code_in(scan.code))
    if device.school_id != school_id:
        raise Conflict(
            N_("{tag} does not belong to this school; hand it to the school that holds it."),
            extra={"asset_tag": device.asset_tag},
            tag=device.asset_tag,
        )
    loans = await assignments.list_assignments(
        session, principal, school_id=school_id, open_=True, limit=1, asset_tag=device.asset_tag
    )
    if not loans and device.installed_in_id is not None:
        # A SIM's own label scanned: its loan is the device it sits in.
        host = (await devices.read_device(session, principal, device.asset_tag)).installed_in
        raise Conflict(
            N_("{tag} is a SIM inside {host}: scan {host} to take it back."),
            extra={"asset_tag": device.asset_tag, "installed_in": host},
            tag=device.asset_tag,
            host=host,
        )
    if not loans:
        raise Conflict(
            N_("{tag} is not on loan ({status}): there is nothing to collect."),
            extra={"asset_tag": device.asset_tag, "current_status": device.status},
            tag=device.asset_tag,
            status=Term(device.status),
        )
    loan = loans[0]
    returned = await assignments.return_device(
        session,
        principal,
        loan.id,
        AssignmentReturn(
            condition_in=scan.condition_in or Condition(loan.condition_out),
            wiped=scan.wiped,
            note=scan.note,
        ),
    )
    still_out = await assignments.school_loans(
        session, principal, school_id, overdue_only=False, after_id=None, limit=MAX_LOANS
    )
    return Collected(returned=returned, still_out=len(still_out))


async def outstanding(session: AsyncSession, principal: Principal, school_id: int) -> Outstanding:
    """Every device still out with a student of the school, by class (the grade's number
    first: 6A before 10A), each class by the student's name."""
    await _ensure_collector(session, principal, school_id)
    loans = await assignments.school_loans(
        session, principal, school_id, overdue_only=False, after_id=None, limit=MAX_LOANS
    )
    classes: dict[str | None, list[LoanRead]] = {}
    for loan in loans:
        classes.setdefault(loan.class_name, []).append(loan)
    ordered = sorted(classes, key=lambda c: _class_order(c or ""))
    return Outstanding(
        school_id=school_id,
        total=len(loans),
        classes=[
            ClassOutstanding(
                class_name=name,
                loans=sorted(classes[name], key=lambda a: (a.student_name or "", a.id)),
            )
            for name in ordered
        ],
    )


def _class_order(name: str) -> tuple[int, str]:
    """6A before 10A: by the grade's number, then the name; no class last."""
    digits = "".join(ch for ch in name[:2] if ch.isdigit())
    return (int(digits) if digits else 99, name)


# ---- what is outstanding, as a workbook ---------------------------------------------

HEADINGS = (
    N_("Class"),
    N_("Student code"),
    N_("Full name"),
    N_("Asset tag"),
    N_("Kind"),
    N_("Lent on"),
    N_("Due back"),
    N_("Days late"),
)


async def outstanding_xlsx(
    heavy: HeavyWork,
    found: Outstanding,
    say: Callable[[str], str],
    word: Callable[[str], str],
) -> IO[bytes]:
    """The devices still out, one row each, class by class, headed in the reader's words
    (`say` translates a heading, `word` a stored code); written by a worker process."""
    columns = [
        Column(say(h), num_format=DAY if h in (HEADINGS[5], HEADINGS[6]) else None)
        for h in HEADINGS
    ]
    rows = [
        (
            klass.class_name or "–",
            loan.student_code,
            loan.student_name,
            loan.asset_tag,
            word(loan.device_kind),
            loan.assigned_at.astimezone(VIETNAM).date(),
            loan.due_back_on,
            loan.days_overdue or None,
        )
        for klass in found.classes
        for loan in klass.loans
    ]
    return await xlsx_file(heavy, say(N_("Still out")), columns, rows)

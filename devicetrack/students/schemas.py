from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.devices.values import Condition
from devicetrack.privacy.schemas import AccessRead
from devicetrack.students.values import ConsentMethod, ConsentSubject, PriorityFlag, StudentStatus

Grade = Annotated[int, msgspec.Meta(ge=0, le=12)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
NationalId = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{12}$")]


class StudentCreate(Body):
    school_id: int
    student_code: Code
    full_name: Name
    grade: Grade
    class_name: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    priority: list[PriorityFlag] = []
    national_id: NationalId | None = None
    birth_year: Annotated[int, msgspec.Meta(ge=1990, le=2030)] | None = None
    guardian_name: Name | None = None
    guardian_phone: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    status: StudentStatus = StudentStatus.ACTIVE


class StudentUpdate(Body):
    full_name: Name | None = None
    grade: Grade | None = None
    class_name: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    priority: list[PriorityFlag] | None = None
    national_id: NationalId | None = None
    birth_year: Annotated[int, msgspec.Meta(ge=1990, le=2030)] | None = None
    guardian_name: Name | None = None
    guardian_phone: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    status: StudentStatus | None = None


class StudentRead(msgspec.Struct, omit_defaults=True):
    """Personal fields (full_name, national_id, birth_year, guardian_*) are present only
    for the staff of the student's school and admins."""

    id: int
    school_id: int
    student_code: str
    grade: int
    class_name: str | None
    priority: list[str]
    status: str
    has_consent: bool
    erased: bool
    # Holds at least one lent device now (kept by the database with the loans).
    has_device: bool
    full_name: str | None = None
    national_id: str | None = None
    birth_year: int | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None


class StudentPage(msgspec.Struct):
    items: list[StudentRead]
    next_cursor: str | None


class StudentMove(Body):
    school_id: int
    student_code: Code | None = None


class ConsentCreate(Body):
    given_by: Name
    method: ConsentMethod
    given_at: date
    evidence: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    # "child": the student's own consent, recorded from age 7.
    subject: ConsentSubject = ConsentSubject.GUARDIAN


class ConsentRead(msgspec.Struct, omit_defaults=True):
    id: int
    student_id: int
    subject: str
    method: str
    given_at: date
    withdrawn_at: datetime | None
    given_by: str | None = None
    evidence: str | None = None


class ConsentList(msgspec.Struct):
    items: list[ConsentRead]


class AssignmentCreate(Body):
    asset_tag: Annotated[str, msgspec.Meta(max_length=40)]
    student_id: int
    due_back_on: date | None = None
    condition_out: Condition | None = None
    note: str | None = None


class AssignmentReturn(Body):
    condition_in: Condition
    wiped: bool = False
    note: str | None = None


class AssignmentRead(msgspec.Struct, omit_defaults=True):
    id: int
    asset_tag: str
    device_kind: str
    student_id: int
    student_code: str
    school_id: int
    assigned_at: datetime
    condition_out: str
    due_back_on: date | None
    returned_at: datetime | None
    condition_in: str | None
    wiped: bool | None
    overdue: bool
    student_name: str | None = None


class AssignmentPage(msgspec.Struct):
    items: list[AssignmentRead]
    next_cursor: str | None


class LoanRead(msgspec.Struct, omit_defaults=True):
    """A device out with a student, in its school's list of loans (the overdue ones to
    chase first). Who has it (the student_* fields, grade and class) is present only for the
    school's staff and admins: a province officer reads the device and the dates."""

    id: int
    school_id: int
    asset_tag: str
    device_kind: str
    assigned_at: datetime
    due_back_on: date | None
    overdue: bool
    # Whole days past the due date (Vietnam's calendar); 0 while not late.
    days_overdue: int = 0
    student_id: int | None = None
    student_code: str | None = None
    student_name: str | None = None
    grade: int | None = None
    class_name: str | None = None


class LoanPage(msgspec.Struct):
    items: list[LoanRead]
    next_cursor: str | None


class StudentImportResult(msgspec.Struct):
    created: int
    student_ids: list[int]


class StudentExport(msgspec.Struct):
    student: StudentRead
    consents: list[ConsentRead]
    assignments: list[AssignmentRead]
    # Every read of the student's personal fields, oldest first (Decree 356/2025).
    access_log: list[AccessRead]

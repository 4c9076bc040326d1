from __future__ import annotations

from datetime import date, datetime

import msgspec
from msgspec import UNSET, UnsetType

from devicetrack.common.limits import Note, Phone
from devicetrack.common.schemas import Body
from devicetrack.devices.limits import Code as DeviceCode
from devicetrack.devices.values import Condition
from devicetrack.evidence.schemas import EvidenceRead
from devicetrack.privacy.schemas import AccessRead
from devicetrack.students.limits import (
    BirthYear,
    ClassName,
    Code,
    Evidence,
    Grade,
    Name,
    NationalId,
)
from devicetrack.students.values import ConsentMethod, ConsentSubject, PriorityFlag, StudentStatus


class StudentCreate(Body):
    """Body of POST /students; a row of the students import is converted into it too
    (students/importer.py), and so is the add-student page form."""

    school_id: int
    student_code: Code
    full_name: Name
    grade: Grade
    class_name: ClassName | None = None
    priority: list[PriorityFlag] = []
    national_id: NationalId | None = None
    birth_year: BirthYear | None = None
    guardian_name: Name | None = None
    guardian_phone: Phone | None = None
    status: StudentStatus = StudentStatus.ACTIVE


class StudentUpdate(Body):
    """Body of PATCH /students/{id}: a field left out is unchanged; null clears one that
    may be empty (class, national ID, birth year, guardian)."""

    full_name: Name | UnsetType = UNSET
    grade: Grade | UnsetType = UNSET
    class_name: ClassName | UnsetType | None = UNSET
    priority: list[PriorityFlag] | UnsetType = UNSET
    national_id: NationalId | UnsetType | None = UNSET
    birth_year: BirthYear | UnsetType | None = UNSET
    guardian_name: Name | UnsetType | None = UNSET
    guardian_phone: Phone | UnsetType | None = UNSET
    status: StudentStatus | UnsetType = UNSET


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
    evidence: Evidence | None = None
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
    asset_tag: DeviceCode
    student_id: int
    due_back_on: date | None = None
    condition_out: Condition | None = None
    note: Note | None = None


class AssignmentReturn(Body):
    condition_in: Condition
    wiped: bool = False
    note: Note | None = None


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
    # Signatures and photos of signed paper kept with the loans and consents.
    evidence: list[EvidenceRead] = msgspec.field(default_factory=list)

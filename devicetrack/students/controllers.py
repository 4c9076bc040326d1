from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body, read_upload
from devicetrack.config import Settings
from devicetrack.errors import FieldError, ValidationFailed
from devicetrack.i18n import N_
from devicetrack.privacy.schemas import AccessPage
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments, export, importer, service
from devicetrack.students.schemas import (
    AssignmentCreate,
    AssignmentPage,
    AssignmentRead,
    AssignmentReturn,
    ConsentCreate,
    ConsentList,
    ConsentRead,
    LoanPage,
    StudentCreate,
    StudentExport,
    StudentImportResult,
    StudentMove,
    StudentPage,
    StudentRead,
    StudentUpdate,
)
from devicetrack.students.values import PriorityFlag, StudentStatus


class StudentController(Controller):
    path = "/students"
    tags = ["students"]

    @post("/", operation_id="createStudent")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: StudentCreate
    ) -> StudentRead:
        answer = await service.create_student(tx, principal, data)
        privacy.note_answer(principal, tx, answer)
        return answer

    @get("/", operation_id="listStudents")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school: int | None = None,
        grade: int | None = None,
        class_name: str | None = None,
        status: StudentStatus | None = None,
        priority: PriorityFlag | None = None,
        has_device: bool | None = None,
        q: str | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> StudentPage:
        """`has_device=false`: the students who still need a device (the school's gap)."""
        rows = await service.list_students(
            tx,
            principal,
            school_id=school,
            grade=grade,
            class_name=class_name,
            status=status,
            priority=priority,
            has_device=has_device,
            q=q,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_of(rows, limit)
        await privacy.record_reads(tx, principal, privacy.route_of(request), items)
        return StudentPage(items=items, next_cursor=next_cursor)

    @post(
        "/import",
        operation_id="importStudents",
        request_max_body_size=None,  # Settings.max_upload_bytes, by limit_upload_body
        middleware=[limit_upload_body],
        after_response=after_upload,
    )
    async def import_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        school_id: int | None = None,
    ) -> StudentImportResult:
        """CSV or XLSX with student_code, full_name, grade and optionally class_name,
        priority, national_id, birth_year, guardian_name, guardian_phone, status."""
        # Checked here rather than as a required parameter, so an unauthenticated caller
        # gets 401 before any validation.
        if school_id is None:
            raise ValidationFailed(
                N_("Name the school: ?school_id=…"),
                errors=[FieldError(field="school_id", message=N_("required"))],
            )
        data, filename = await read_upload(request)
        return await importer.import_students(
            tx, principal, school_id, data, filename, UploadLimits.of(settings)
        )

    @get("/{student_id:int}", operation_id="getStudent")
    async def get_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> StudentRead:
        student, consent = await service.get_student(tx, principal, student_id)
        read = service.student_read(principal, student, consent)
        await privacy.record_reads(tx, principal, privacy.route_of(request), [read])
        return read

    @patch("/{student_id:int}", operation_id="updateStudent")
    async def update(
        self, tx: AsyncSession, principal: Principal, student_id: int, data: StudentUpdate
    ) -> StudentRead:
        answer = await service.update_student(tx, principal, student_id, data)
        privacy.note_answer(principal, tx, answer)
        return answer

    @delete("/{student_id:int}", operation_id="eraseStudent")
    async def erase(self, tx: AsyncSession, principal: Principal, student_id: int) -> None:
        """Erase the personal fields; the device history stays, pseudonymised."""
        await service.erase_student(tx, principal, student_id)

    @post("/{student_id:int}/move", operation_id="moveStudent", status_code=200)
    async def move(
        self, tx: AsyncSession, principal: Principal, student_id: int, data: StudentMove
    ) -> StudentRead:
        answer = await service.move_student(tx, principal, student_id, data)
        privacy.note_answer(principal, tx, answer)
        return answer

    @get("/{student_id:int}/export", operation_id="exportStudent")
    async def export_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> StudentExport:
        """Everything held about one student (for the school's staff and admins), its
        access log included."""
        return await export.export_student(tx, principal, student_id, privacy.route_of(request))

    @get("/{student_id:int}/access-log", operation_id="listStudentAccessLog")
    async def access_log(
        self,
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AccessPage:
        """Who read this student's personal fields, when and through which route, newest
        first (admins only)."""
        rows = await privacy.list_access(
            tx, principal, student_id=student_id, before_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return AccessPage(items=items, next_cursor=next_cursor)

    @get("/{student_id:int}/consents", operation_id="listConsents")
    async def consents(
        self, tx: AsyncSession, principal: Principal, student_id: int
    ) -> ConsentList:
        return ConsentList(items=await service.list_consents(tx, principal, student_id))

    @post("/{student_id:int}/consents", operation_id="addConsent")
    async def add_consent(
        self, tx: AsyncSession, principal: Principal, student_id: int, data: ConsentCreate
    ) -> ConsentRead:
        answer = await service.add_consent(tx, principal, student_id, data)
        privacy.note_answer(principal, tx, answer)
        return answer

    @post(
        "/{student_id:int}/consents/{consent_id:int}/withdraw",
        operation_id="withdrawConsent",
        status_code=200,
    )
    async def withdraw(
        self, tx: AsyncSession, principal: Principal, student_id: int, consent_id: int
    ) -> ConsentRead:
        answer = await service.withdraw_consent(tx, principal, student_id, consent_id)
        privacy.note_answer(principal, tx, answer)
        return answer


class AssignmentController(Controller):
    path = "/assignments"
    tags = ["assignments"]

    @post("/", operation_id="assignDevice")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: AssignmentCreate
    ) -> AssignmentRead:
        answer = await assignments.assign(tx, principal, data)
        privacy.note_answer(principal, tx, answer)
        return answer

    @get("/", operation_id="listAssignments")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school: int | None = None,
        student: int | None = None,
        open: bool | None = None,
        overdue: bool | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AssignmentPage:
        rows = await assignments.list_assignments(
            tx,
            principal,
            school_id=school,
            student_id=student,
            open_=open,
            overdue=overdue,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_of(rows, limit)
        # A loan carries its student's name to the school's staff: a read like any other.
        await privacy.record_reads(tx, principal, privacy.route_of(request), items)
        return AssignmentPage(items=items, next_cursor=next_cursor)

    @get("/{assignment_id:int}", operation_id="getAssignment")
    async def get_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        assignment_id: int,
    ) -> AssignmentRead:
        read = await assignments.get_assignment(tx, principal, assignment_id)
        await privacy.record_reads(tx, principal, privacy.route_of(request), [read])
        return read

    @post("/{assignment_id:int}/return", operation_id="returnDevice", status_code=200)
    async def return_(
        self, tx: AsyncSession, principal: Principal, assignment_id: int, data: AssignmentReturn
    ) -> AssignmentRead:
        answer = await assignments.return_device(tx, principal, assignment_id, data)
        privacy.note_answer(principal, tx, answer)
        return answer


class SchoolLoanController(Controller):
    path = "/schools/{school_id:int}/loans"
    tags = ["assignments"]

    @get("/", operation_id="listSchoolLoans")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        overdue: bool = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> LoanPage:
        """The school's devices out with students, in lending order, each with its due date;
        `overdue=true`: only those past it. Who has each device is shown to the school's
        staff and admins only."""
        rows = await assignments.school_loans(
            tx,
            principal,
            school_id,
            overdue_only=overdue,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_of(rows, limit)
        await privacy.record_reads(tx, principal, privacy.route_of(request), items)
        return LoanPage(items=items, next_cursor=next_cursor)


class PrivacyController(Controller):
    path = "/privacy"
    tags = ["privacy"]

    @get("/access-log", operation_id="listAccessLog")
    async def access_log(
        self,
        tx: AsyncSession,
        principal: Principal,
        student_id: int | None = None,
        user_id: int | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AccessPage:
        """Who read which student's personal fields, when and through which route, newest
        first (admins only)."""
        rows = await privacy.list_access(
            tx,
            principal,
            student_id=student_id,
            user_id=user_id,
            before_id=decode_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_of(rows, limit)
        return AccessPage(items=items, next_cursor=next_cursor)

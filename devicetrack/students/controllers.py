from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body, read_upload
from devicetrack.config import Settings
from devicetrack.errors import FieldError, ValidationFailed
from devicetrack.students import assignments, export, importer, service
from devicetrack.students.schemas import (
    AssignmentCreate,
    AssignmentPage,
    AssignmentRead,
    AssignmentReturn,
    ConsentCreate,
    ConsentList,
    ConsentRead,
    Priority,
    StudentCreate,
    StudentExport,
    StudentImportResult,
    StudentMove,
    StudentPage,
    StudentRead,
    StudentStatus,
    StudentUpdate,
)


class StudentController(Controller):
    path = "/students"
    tags = ["students"]

    @post("/", operation_id="createStudent")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: StudentCreate
    ) -> StudentRead:
        return await service.create_student(tx, principal, data)

    @get("/", operation_id="listStudents")
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        school: int | None = None,
        grade: int | None = None,
        class_name: str | None = None,
        status: StudentStatus | None = None,
        priority: Priority | None = None,
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
        request: Request,
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
                "Name the school: ?school_id=…",
                errors=[FieldError(field="school_id", message="required")],
            )
        data, filename = await read_upload(request)
        return await importer.import_students(
            tx, principal, school_id, data, filename, UploadLimits.of(settings)
        )

    @get("/{student_id:int}", operation_id="getStudent")
    async def get_(self, tx: AsyncSession, principal: Principal, student_id: int) -> StudentRead:
        student, consent = await service.get_student(tx, principal, student_id)
        return service.student_read(principal, student, consent)

    @patch("/{student_id:int}", operation_id="updateStudent")
    async def update(
        self, tx: AsyncSession, principal: Principal, student_id: int, data: StudentUpdate
    ) -> StudentRead:
        return await service.update_student(tx, principal, student_id, data)

    @delete("/{student_id:int}", operation_id="eraseStudent")
    async def erase(self, tx: AsyncSession, principal: Principal, student_id: int) -> None:
        """Erase the personal fields; the device history stays, pseudonymised."""
        await service.erase_student(tx, principal, student_id)

    @post("/{student_id:int}/move", operation_id="moveStudent", status_code=200)
    async def move(
        self, tx: AsyncSession, principal: Principal, student_id: int, data: StudentMove
    ) -> StudentRead:
        return await service.move_student(tx, principal, student_id, data)

    @get("/{student_id:int}/export", operation_id="exportStudent")
    async def export_(
        self, tx: AsyncSession, principal: Principal, student_id: int
    ) -> StudentExport:
        """Everything held about one student (for the school's staff and admins)."""
        return await export.export_student(tx, principal, student_id)

    @get("/{student_id:int}/consents", operation_id="listConsents")
    async def consents(
        self, tx: AsyncSession, principal: Principal, student_id: int
    ) -> ConsentList:
        return ConsentList(items=await service.list_consents(tx, principal, student_id))

    @post("/{student_id:int}/consents", operation_id="addConsent")
    async def add_consent(
        self, tx: AsyncSession, principal: Principal, student_id: int, data: ConsentCreate
    ) -> ConsentRead:
        return await service.add_consent(tx, principal, student_id, data)

    @post(
        "/{student_id:int}/consents/{consent_id:int}/withdraw",
        operation_id="withdrawConsent",
        status_code=200,
    )
    async def withdraw(
        self, tx: AsyncSession, principal: Principal, student_id: int, consent_id: int
    ) -> ConsentRead:
        return await service.withdraw_consent(tx, principal, student_id, consent_id)


class AssignmentController(Controller):
    path = "/assignments"
    tags = ["assignments"]

    @post("/", operation_id="assignDevice")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: AssignmentCreate
    ) -> AssignmentRead:
        return await assignments.assign(tx, principal, data)

    @get("/", operation_id="listAssignments")
    async def list_(
        self,
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
        return AssignmentPage(items=items, next_cursor=next_cursor)

    @get("/{assignment_id:int}", operation_id="getAssignment")
    async def get_(
        self, tx: AsyncSession, principal: Principal, assignment_id: int
    ) -> AssignmentRead:
        return await assignments.get_assignment(tx, principal, assignment_id)

    @post("/{assignment_id:int}/return", operation_id="returnDevice", status_code=200)
    async def return_(
        self, tx: AsyncSession, principal: Principal, assignment_id: int, data: AssignmentReturn
    ) -> AssignmentRead:
        return await assignments.return_device(tx, principal, assignment_id, data)

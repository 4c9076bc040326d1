"""A school's students: the list (who still needs a device), adding one, and importing
them from Excel or CSV."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body
from devicetrack.config import Settings
from devicetrack.errors import DomainError
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import importer
from devicetrack.students import service as students
from devicetrack.students.schemas import StudentCreate
from devicetrack.students.values import PriorityFlag
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.render import page

PAGE_SIZE = 100


class SchoolStudentPages(Controller):
    path = "/schools/{school_id:int}"
    include_in_schema = False

    async def _students_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school: Any,
        *,
        q: str | None = None,
        device: str | None = None,
        after: int | None = None,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        """The school's students (one page of them); a refused add or import shows its
        error above the same list, with what was typed. `device`: "yes" (holds one),
        "no" (still needs one) or anything else for all."""
        rows = await students.list_students(
            tx,
            principal,
            school_id=school.id,
            has_device={"yes": True, "no": False}.get(device or ""),
            q=(q or "").strip()[:100] or None,
            after_id=after,
            limit=PAGE_SIZE + 1,
        )
        await privacy.record_reads(tx, principal, privacy.route_of(request), rows[:PAGE_SIZE])
        return page(
            request,
            "students.html",
            principal,
            error=error,
            school=school,
            students=rows[:PAGE_SIZE],
            more=rows[PAGE_SIZE].id if len(rows) > PAGE_SIZE else None,
            q=q or "",
            device=device if device in ("yes", "no") else "",
            priorities=PriorityFlag,
            values=values or {},
        )

    @get("/students")
    async def students_list(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        q: str | None = None,
        device: str | None = None,
        after: int | None = None,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        return await self._students_page(
            request, tx, principal, school, q=q, device=device, after=after
        )

    @post("/students")
    async def add_student(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        form = await Form.of(request)
        data = form.into(StudentCreate, school_id=school_id)
        result: Any = form.refusal()
        if data is not None:
            result = await attempt(tx, lambda: students.create_student(tx, principal, data))
        if isinstance(result, DomainError):
            return await self._students_page(
                request, tx, principal, school, error=result, values=form.values
            )
        return done(f"/students/{result.id}", "Student added.")

    @post(
        "/students/import",
        request_max_body_size=None,  # Settings.max_upload_bytes, by limit_upload_body
        middleware=[limit_upload_body],
        after_response=after_upload,
    )
    async def import_students(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        school_id: int,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        form = await Form.of(request)
        upload = form.file("file")
        result: Any = form.refusal("Choose a CSV or Excel file.")
        if upload is not None:
            result = await attempt(
                tx,
                lambda: importer.import_students(
                    tx, principal, school_id, upload[0], upload[1], UploadLimits.of(settings)
                ),
            )
        if isinstance(result, DomainError):
            return await self._students_page(
                request, tx, principal, school, error=result, values={}
            )
        return done(f"/schools/{school_id}/students", "{n} students imported.", n=result.created)

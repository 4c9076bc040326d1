"""One student's page: details, consent and its withdrawal, loans, editing, everything held
as a file, and erasing the personal data."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.common.heavy import heavy_work
from devicetrack.custody import evidence
from devicetrack.errors import DomainError, FieldError, ValidationFailed
from devicetrack.i18n import N_
from devicetrack.reports.student_record import student_record_pdf
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments
from devicetrack.students import export as student_export
from devicetrack.students import service as students
from devicetrack.students.schemas import ConsentCreate, StudentUpdate
from devicetrack.students.values import ConsentMethod, PriorityFlag, StudentStatus
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.pages_evidence import FORM_BYTES, consent_signed
from devicetrack.web.render import page, translator


class StudentPages(Controller):
    path = "/students/{student_id:int}"
    include_in_schema = False

    @get("/")
    async def student(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> Response[Any]:
        return await self._student_page(request, tx, principal, student_id)

    async def _student_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
        *,
        failed: str | None = None,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        """The student's page; after a refused form (`failed`: consent, edit, erase), that
        form shows the reason and what was typed."""
        student, consent = await students.get_student(tx, principal, student_id)
        school = await schools.get_school(tx, principal, student.school_id)
        read = students.student_read(principal, student, consent)
        await privacy.record_reads(tx, principal, privacy.route_of(request), [read])
        return page(
            request,
            "student.html",
            principal,
            school=school,
            student=read,
            consents=await students.list_consents(tx, principal, student_id),
            loans=await assignments.student_assignments(tx, principal, student_id),
            evidence=await evidence.list_of_student(tx, principal, student_id),
            statuses=StudentStatus,
            methods=ConsentMethod,
            priorities=PriorityFlag,
            failed=failed,
            error=error,
            values=values or {},
            # A consent is usually recorded the day the paper is signed: today, in Vietnam.
            today_iso=local_today().isoformat(),
        )

    @post("/edit")
    async def edit_student(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> Response[Any]:
        """Name, class, grade, priority, status and the guardian, as the school's staff keep
        them up to date (a misspelled name too). The priority boxes are on the form with a
        marker, so unticking them all clears the flags."""
        form = await Form.of(request)
        # A field emptied on the form is cleared, or refused if it must hold a value (the
        # name, the grade: Form.into); one the form does not show is kept. The priority
        # boxes come with a marker: none ticked then means "no flags".
        if form.flag("priority_shown"):
            data = form.into(StudentUpdate, priority=form.many("priority"))
        else:
            data = form.into(StudentUpdate)
        result: Any = form.refusal()
        if result is None and data is not None:
            result = await attempt(
                tx, lambda: students.update_student(tx, principal, student_id, data)
            )
        if isinstance(result, DomainError):
            return await self._student_page(
                request, tx, principal, student_id, failed="edit", error=result, values=form.values
            )
        return done(f"/students/{student_id}", "Saved.")

    @post("/consents/{consent_id:int}/withdraw")
    async def withdraw_consent(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
        consent_id: int,
    ) -> Response[Any]:
        result = await attempt(
            tx, lambda: students.withdraw_consent(tx, principal, student_id, consent_id)
        )
        if isinstance(result, DomainError):
            return await self._student_page(
                request, tx, principal, student_id, failed="consent", error=result
            )
        return done(f"/students/{student_id}", "Consent withdrawn.")

    @post("/erase")
    async def erase(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> Response[Any]:
        """Erase the personal data (asked for by the family, or the student left long ago);
        the loans and the device history stay under the pseudonymous code."""
        form = await Form.of(request)
        student, _ = await students.get_student(tx, principal, student_id)
        result: Any = None
        if not form.flag("confirm"):
            result = ValidationFailed(
                N_("Tick the box to confirm: erasing cannot be undone."),
                errors=[FieldError(field="confirm", message=N_("required"))],
            )
        else:
            result = await attempt(tx, lambda: students.erase_student(tx, principal, student_id))
        if isinstance(result, DomainError):
            return await self._student_page(
                request, tx, principal, student_id, failed="erase", error=result
            )
        return done(f"/schools/{student.school_id}/students", "Erased.")

    @get("/export")
    async def export_pdf(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> Response[bytes]:
        """Everything held about the student, as a document to hand to the family, in the
        reader's language (the API's export is the same data as JSON). The access log is
        written, and shown in it, as for the JSON."""
        exported = await student_export.export_student(
            tx, principal, student_id, privacy.route_of(request)
        )
        school = await schools.get_school(tx, principal, exported.student.school_id)
        body = await student_record_pdf(
            heavy_work(request), exported, school.name, translator(request, principal)
        )
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="student-{student_id}.pdf"'},
        )

    @post("/consents", request_max_body_size=FORM_BYTES)
    async def add_consent(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> Response[Any]:
        form = await Form.of(request)
        data = form.into(ConsentCreate)
        result: Any = form.refusal()
        if data is not None:
            result = await attempt(
                tx, lambda: consent_signed(tx, principal, student_id, data, form)
            )
        if isinstance(result, DomainError):
            # The student's page again, the consent form open with the reason and the values.
            return await self._student_page(
                request,
                tx,
                principal,
                student_id,
                failed="consent",
                error=result,
                values=form.values,
            )
        return done(f"/students/{student_id}", "Consent recorded.")

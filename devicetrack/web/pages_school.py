"""School pages: the school's devices, receiving an allocation, students and consent,
lending and taking back, and audit mode. Scope comes from the services: a school the
caller cannot see answers 404, exactly as in the API."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Stream
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.allocations import service as allocations
from devicetrack.allocations.schemas import AllocationCreate, ReceiptCreate, ReceiptResult
from devicetrack.audits import service as audits
from devicetrack.audits.schemas import AuditCreate, ScanBatch, ScanResult
from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.common.heavy import heavy_work
from devicetrack.common.spreadsheet import XLSX, download
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body
from devicetrack.config import Settings
from devicetrack.devices import export as devices_export
from devicetrack.devices import service as devices
from devicetrack.devices.values import Condition, DeviceKind, DeviceStatus
from devicetrack.errors import DomainError, FieldError, Forbidden, ValidationFailed
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments, importer
from devicetrack.students import export as student_export
from devicetrack.students import service as students
from devicetrack.students.schemas import (
    AssignmentCreate,
    AssignmentReturn,
    ConsentCreate,
    StudentCreate,
    StudentUpdate,
)
from devicetrack.students.values import ConsentMethod, PriorityFlag, StudentStatus
from devicetrack.web.excel import DeviceRow
from devicetrack.web.forms import E, Form, attempt, scanned_codes
from devicetrack.web.pages_common import done
from devicetrack.web.render import fragment, page, translator

PAGE_SIZE = 100
# Students a lend page lists at once; the search box narrows a big school down.
LEND_MATCHES = 20


def _pick(value: str | None, allowed: type[E]) -> E | None:
    """A filter from the query string: one of the list, or no filter."""
    if value is None:
        return None
    try:
        return allowed(value)
    except ValueError:
        return None


class SchoolPages(Controller):
    path = "/schools/{school_id:int}"
    include_in_schema = False

    @get("/")
    async def school(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        status: str | None = None,
        kind: str | None = None,
        condition: str | None = None,
        q: str | None = None,
        after: int | None = None,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        filters = {
            "status": _pick(status, DeviceStatus),
            "kind": _pick(kind, DeviceKind),
            "condition": _pick(condition, Condition),
        }
        where = devices.device_filters(
            principal,
            school=school_id,
            q=(q or "").strip()[:60] or None,
            status=filters["status"],
            kind=filters["kind"],
            condition=filters["condition"],
        )
        rows = await devices.list_devices(tx, principal, where, after_id=after, limit=PAGE_SIZE + 1)
        more = rows[PAGE_SIZE].id if len(rows) > PAGE_SIZE else None
        counts = await devices.status_counts(tx, school_id)
        return page(
            request,
            "school.html",
            principal,
            school=school,
            devices=rows[:PAGE_SIZE],
            more=more,
            filters=filters,
            q=q or "",
            kinds=DeviceKind,
            statuses=DeviceStatus,
            conditions=Condition,
            counts=counts,
        )

    @get("/devices.xlsx")
    async def export(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        db_engine: AsyncEngine,
        school_id: int,
    ) -> Stream:
        """The school's devices for a person: headers and codes in the reader's language,
        times on Vietnam's clock (the API's export keeps field names and stored codes)."""
        await schools.get_school(tx, principal, school_id)
        where = devices.device_filters(principal, school=school_id)
        t = translator(request, principal)
        handle = await devices_export.xlsx_file(
            heavy_work(request), db_engine, principal, where, heading=t.field, prepare=DeviceRow(t)
        )
        return download(handle, f"school-{school_id}-devices.xlsx", XLSX)

    # ---- receiving an allocation --------------------------------------------------

    @get("/receive")
    async def receive_form(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        waiting = await allocations.awaiting_receipt(tx, principal, school_id)
        return page(request, "receive.html", principal, school=school, waiting=waiting, result=None)

    @post("/receive")
    async def receive(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        """Without JavaScript: all the scanned tags at once, one per line."""
        school = await schools.get_school(tx, principal, school_id)
        form = await Form.of(request)
        tags = scanned_codes(form.text("tags", required=True, max_length=200_000))
        if not tags:
            form.check()
        result = await attempt(
            tx,
            lambda: allocations.receive(tx, principal, school_id, ReceiptCreate(asset_tags=tags)),
        )
        waiting = await allocations.awaiting_receipt(tx, principal, school_id)
        if isinstance(result, DomainError):
            return page(
                request,
                "receive.html",
                principal,
                error=result,
                school=school,
                waiting=waiting,
                result=None,
            )
        return page(
            request, "receive.html", principal, school=school, waiting=waiting, result=result
        )

    @post("/receive.json", status_code=200)
    async def receive_one(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        data: ReceiptCreate,
    ) -> ReceiptResult:
        """The page's scanner loop: one tag per call, so the count runs as tags are scanned.
        Reasons come back in the reader's language (the script shows them as they are)."""
        result = await allocations.receive(tx, principal, school_id, data)
        t = translator(request, principal)
        for item in result.discrepancies:
            item.reason = t(item.reason)
        return result

    # ---- allocating (province officers) --------------------------------------------

    @get("/allocate")
    async def allocate_form(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        allocation: int | None = None,
    ) -> Response[Any]:
        """The allocation form; after an allocation (`?allocation=`) its devices above it."""
        school = await schools.get_school(tx, principal, school_id)
        if not (principal.is_province_officer or principal.is_admin):
            raise Forbidden("Province officers allocate devices to schools.")
        result = None
        if allocation is not None:
            result = await allocations.read_allocation(tx, principal, allocation)
            if result.school_id != school_id:
                result = None
        return await self._allocate_page(request, tx, principal, school, result=result)

    async def _allocate_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school: Any,
        *,
        result: Any = None,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        quotas = await allocations.list_quotas(tx, principal, school.id)
        return page(
            request,
            "allocate.html",
            principal,
            error=error,
            school=school,
            kinds=DeviceKind,
            quotas=quotas,
            result=result,
            values=values or {},
        )

    @post("/allocate")
    async def allocate(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        form = await Form.of(request)
        tags = scanned_codes(form.text("tags", max_length=200_000))
        kind = form.choice("kind", DeviceKind)
        quantity = form.integer("quantity", low=1, high=10_000)
        if not tags and not (kind and quantity):
            form.errors.append(
                FieldError(field="quantity", message="choose a kind and a quantity, or scan tags")
            )
        error: DomainError | None = form.refusal()
        if error is None:
            data = AllocationCreate(
                school_id=school_id,
                asset_tags=tags or None,
                kind=None if tags else kind,
                quantity=None if tags else quantity,
                override=form.flag("override"),
                note=form.text("note"),
            )
            result = await attempt(tx, lambda: allocations.allocate(tx, principal, data))
            if not isinstance(result, DomainError):
                # Post/redirect/get: reloading the result page must not allocate again.
                return Redirect(
                    f"/schools/{school_id}/allocate?allocation={result.id}", status_code=303
                )
            error = result
        # Refused: the form again with the reason and everything typed or scanned.
        return await self._allocate_page(
            request, tx, principal, school, error=error, values=form.values
        )

    # ---- students -----------------------------------------------------------------

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

    # ---- audits -------------------------------------------------------------------

    @get("/audits")
    async def audits_list(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        school = await schools.get_school(tx, principal, school_id)
        rows = await audits.list_audits(
            tx, principal, school_id=school_id, open_=None, after_id=None, limit=200
        )
        return page(request, "audits.html", principal, school=school, audits=list(reversed(rows)))

    @post("/audits")
    async def start_audit(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        form = await Form.of(request)
        data = form.into(
            AuditCreate, school_id=school_id, include_assigned=not form.flag("exclude_assigned")
        )
        form.check()
        assert data is not None  # form.check() refused the form otherwise
        audit = await audits.start(tx, principal, data)
        return Redirect(f"/audits/{audit.id}", status_code=303)


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
            statuses=StudentStatus,
            methods=ConsentMethod,
            failed=failed,
            error=error,
            values=values or {},
        )

    @post("/edit")
    async def edit_student(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> Response[Any]:
        """Class, grade, status and the guardian, as the school's staff keep them up to date."""
        form = await Form.of(request)
        # A field emptied on the form is cleared; one the form does not show is kept.
        data = form.into(StudentUpdate)
        result: Any = form.refusal()
        if data is not None:
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
                "Tick the box to confirm: erasing cannot be undone.",
                errors=[FieldError(field="confirm", message="required")],
            )
        else:
            result = await attempt(tx, lambda: students.erase_student(tx, principal, student_id))
        if isinstance(result, DomainError):
            return await self._student_page(
                request, tx, principal, student_id, failed="erase", error=result
            )
        return done(f"/schools/{student.school_id}/students", "Erased.")

    @get("/export")
    async def export_json(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        student_id: int,
    ) -> Response[bytes]:
        """Everything held about the student, as a file to hand to the family."""
        exported = await student_export.export_student(
            tx, principal, student_id, privacy.route_of(request)
        )
        return Response(
            msgspec.json.encode(exported),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="student-{student_id}.json"'},
        )

    @post("/consents")
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
                tx, lambda: students.add_consent(tx, principal, student_id, data)
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


class LoanPages(Controller):
    """Lend in three taps (student, condition, lend) and take back (condition, wiped)."""

    path = "/devices/{tag:str}"
    include_in_schema = False

    async def _lend_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
        q: str | None,
        error: DomainError | None = None,
    ) -> Response[Any]:
        device, candidates, more = await self._candidates(request, tx, principal, tag, q)
        return page(
            request,
            "lend.html",
            principal,
            device=device,
            students=candidates,
            more=more,
            today=local_today(),
            q=q or "",
            conditions=Condition,
            error=error,
        )

    async def _candidates(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
        q: str | None,
    ) -> tuple[Any, list[Any], bool]:
        """The device, the first LEND_MATCHES active students of its school matching `q`
        (name without diacritics, or code), and whether there are more. A school of 500
        listed whole weighed ~115 KB; the search finds the rest."""
        device = await devices.read_device(tx, principal, tag)
        if device.school_id is None:
            raise ValidationFailed(f"{device.asset_tag} is not at a school.")
        found = await students.list_students(
            tx,
            principal,
            school_id=device.school_id,
            status="active",
            q=(q or "").strip()[:100] or None,
            limit=LEND_MATCHES,
        )
        candidates = found[:LEND_MATCHES]
        # The candidates are listed by name: each one shown is a read.
        await privacy.record_reads(tx, principal, privacy.route_of(request), candidates)
        return device, candidates, len(found) > LEND_MATCHES

    @get("/lend/students")
    async def lend_candidates(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
        q: str | None = None,
    ) -> Response[Any]:
        """The lend page's student list for what is typed so far (its script's search)."""
        _, candidates, more = await self._candidates(request, tx, principal, tag, q)
        return fragment(request, "_lend_students.html", principal, students=candidates, more=more)

    @get("/lend")
    async def lend_form(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
        q: str | None = None,
    ) -> Response[Any]:
        return await self._lend_page(request, tx, principal, tag, q)

    @post("/lend")
    async def lend(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, tag: str
    ) -> Response[Any]:
        form = await Form.of(request)
        data = form.into(
            AssignmentCreate, renamed={"condition": "condition_out"}, asset_tag=tag[:40]
        )
        result: Any = form.refusal("Choose a student.")
        if data is not None:
            result = await attempt(tx, lambda: assignments.assign(tx, principal, data))
        if isinstance(result, DomainError):
            return await self._lend_page(request, tx, principal, tag, None, result)
        return done(f"/devices/{result.asset_tag}", "Lent.")

    @get("/return")
    async def return_form(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, tag: str
    ) -> Response[Any]:
        device = await devices.read_device(tx, principal, tag)
        loan = await assignments.open_loan_of(tx, principal, device.asset_tag)
        await privacy.record_reads(tx, principal, privacy.route_of(request), [loan])
        return page(
            request, "return.html", principal, device=device, loan=loan, conditions=Condition
        )

    @post("/return")
    async def take_back(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, tag: str
    ) -> Response[Any]:
        device = await devices.read_device(tx, principal, tag)
        loan = await assignments.open_loan_of(tx, principal, device.asset_tag)
        form = await Form.of(request)
        data = form.into(
            AssignmentReturn, renamed={"condition": "condition_in"}, wiped=form.flag("wiped")
        )
        result: Any = form.refusal()
        if data is not None:
            result = await attempt(
                tx, lambda: assignments.return_device(tx, principal, loan.id, data)
            )
        if isinstance(result, DomainError):
            # Back to the form, with the reason and what was chosen (the holder's name too).
            await privacy.record_reads(tx, principal, privacy.route_of(request), [loan])
            return page(
                request,
                "return.html",
                principal,
                device=device,
                loan=loan,
                conditions=Condition,
                error=result,
                values=form.values,
            )
        return done(f"/devices/{device.asset_tag}", "Taken back.")


class AuditPages(Controller):
    path = "/audits/{audit_id:int}"
    include_in_schema = False

    @get("/")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        audit_id: int,
        last: str | None = None,
    ) -> Response[Any]:
        return await self._audit_page(request, tx, principal, audit_id, last=last)

    async def _audit_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        audit_id: int,
        *,
        last: str | None = None,
        error: DomainError | None = None,
    ) -> Response[Any]:
        audit = await audits.read(tx, principal, audit_id)
        school = await schools.get_school(tx, principal, audit.school_id)
        return page(
            request,
            "audit.html",
            principal,
            audit=audit,
            school=school,
            last=last,
            conditions=Condition,
            error=error,
        )

    @post("/scan")
    async def scan_one(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, audit_id: int
    ) -> Response[Any]:
        """Without JavaScript: one code per submit, the page comes back ready for the next."""
        form = await Form.of(request)
        code = form.text("code", required=True, max_length=60)
        condition = form.choice("condition", Condition)  # read before the check, not after
        form.check()
        result = await audits.scan(
            tx, principal, audit_id, ScanBatch(code=code, condition=condition)
        )
        outcome = "rejected" if result.rejected else "unexpected" if result.unexpected else "ok"
        return Redirect(f"/audits/{audit_id}?last={outcome}", status_code=303)

    @post("/scans.json", status_code=200, request_max_body_size=8 * 1024 * 1024)
    async def scans(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        audit_id: int,
        data: ScanBatch,
    ) -> ScanResult:
        """The offline queue's upload: the same batch body as the API."""
        result = await audits.scan(tx, principal, audit_id, data)
        t = translator(request, principal)
        for item in result.rejected:
            item.message = t(item.message)
        return result

    @post("/close")
    async def close(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, audit_id: int
    ) -> Response[Any]:
        result = await attempt(tx, lambda: audits.close(tx, principal, audit_id))
        if isinstance(result, DomainError):
            return await self._audit_page(request, tx, principal, audit_id, error=result)
        return Redirect(f"/audits/{audit_id}", status_code=303)

"""Lending a device in three taps (student, condition, lend) and taking it back
(condition, wiped); a school's devices out with students, the late ones first to chase."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.devices import service as devices
from devicetrack.devices.values import Condition
from devicetrack.errors import DomainError
from devicetrack.i18n import N_
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments
from devicetrack.students.schemas import AssignmentCreate, AssignmentReturn
from devicetrack.web.forms import Form, attempt
from devicetrack.web.keyed import KEYED
from devicetrack.web.navigation import finished
from devicetrack.web.pages_evidence import FORM_BYTES, lend_signed, return_signed
from devicetrack.web.render import fragment, page

# Students a lend page lists at once; the search box narrows a big school down.
LEND_MATCHES = 20
PAGE_SIZE = 100


class SchoolLoanPages(Controller):
    path = "/schools/{school_id:int}"
    include_in_schema = False

    @get("/loans")
    async def loans(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        overdue: str | None = None,
        after: int | None = None,
    ) -> Response[Any]:
        """The school's devices out with students and when each is due back; `overdue=1`:
        the late ones, to chase first."""
        school = await schools.get_school(tx, principal, school_id)
        late = overdue == "1"
        rows = await assignments.school_loans(
            tx, principal, school_id, overdue_only=late, after_id=after, limit=PAGE_SIZE
        )
        await privacy.record_reads(tx, principal, privacy.route_of(request), rows[:PAGE_SIZE])
        return page(
            request,
            "loans.html",
            principal,
            school=school,
            loans=rows[:PAGE_SIZE],
            more=rows[PAGE_SIZE].id if len(rows) > PAGE_SIZE else None,
            overdue=late,
        )


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
            blocker=assignments.lend_blocker(device),
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
        device, candidates, more = await assignments.lend_candidates(
            tx, principal, tag, (q or "").strip()[:100] or None, LEND_MATCHES
        )
        # The candidates are listed by name: each one shown is a read.
        await privacy.record_reads(tx, principal, privacy.route_of(request), candidates)
        return device, candidates, more

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

    # `.json`: the outbox's twin of the form (app.js), with an Idempotency-Key; a refusal
    # is answered as problem+json for the outbox to show with what to do.
    @post(["/lend", "/lend.json"], opt=KEYED, request_max_body_size=FORM_BYTES)
    async def lend(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, tag: str
    ) -> Response[Any]:
        form = await Form.of(request)
        data = form.into(
            AssignmentCreate, renamed={"condition": "condition_out"}, asset_tag=tag[:40]
        )
        result: Any = form.refusal(N_("Choose a student."))
        if data is not None:
            result = await attempt(tx, lambda: lend_signed(tx, principal, data, form))
        if isinstance(result, DomainError):
            if request.url.path.endswith(".json"):
                raise result
            return await self._lend_page(request, tx, principal, tag, None, result)
        return finished(request, f"/devices/{result.asset_tag}", "Lent.")

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

    @post(["/return", "/return.json"], opt=KEYED, request_max_body_size=FORM_BYTES)
    async def take_back(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, tag: str
    ) -> Response[Any]:
        form = await Form.of(request)
        device = await devices.read_device(tx, principal, tag)
        # The holder the form was filled for: a loan lent again meanwhile is not closed.
        holder = form.integer("student_id")
        loan = await assignments.open_loan_of(tx, principal, device.asset_tag, holder)
        data = form.into(
            AssignmentReturn, renamed={"condition": "condition_in"}, wiped=form.flag("wiped")
        )
        # A holder that is not a number is refused too, never read as "no holder given".
        result: Any = form.refusal()
        if data is not None and result is None:
            result = await attempt(tx, lambda: return_signed(tx, principal, loan.id, data, form))
        if isinstance(result, DomainError) and request.url.path.endswith(".json"):
            raise result
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
        return finished(request, f"/devices/{device.asset_tag}", "Taken back.")

"""Enrolments, the denominator of coverage: one school year at a time for every school the
reader keeps (each row its own small form), one school's years on its page, and an import
from Excel. The same services as the API (schools/)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import province_of_page
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body
from devicetrack.config import Settings
from devicetrack.errors import DomainError
from devicetrack.regions import service as regions
from devicetrack.schools import importer
from devicetrack.schools import service as schools
from devicetrack.schools.schemas import EnrolmentWrite
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.pages_admin_schools import school_page
from devicetrack.web.pages_province import offered_years
from devicetrack.web.render import page

PAGE_SIZE = 100


def _year(asked: str | None) -> str:
    """The year asked for (the service checks it), else this school year."""
    return (asked or "").strip()[:9] or offered_years()[2]


async def enrolments_page(
    request: Request[Any, Any, Any],
    tx: AsyncSession,
    principal: Principal,
    *,
    year: str | None = None,
    province: str | None = None,
    q: str | None = None,
    after: int | None = None,
    error: DomainError | None = None,
    failed: int | None = None,
    values: dict[str, Any] | None = None,
) -> Response[Any]:
    """Every school the reader keeps with its enrolment of one year. After a refused row,
    that row shows what was typed (`failed`: its school)."""
    chosen = _year(year)
    q = (q or "").strip()[:100] or None
    rows = await schools.enrolments_of_year(
        tx,
        principal,
        year=chosen,
        province=(province or "").strip()[:2] or None,
        q=q,
        after_id=after,
        limit=PAGE_SIZE,
    )
    shown = rows[:PAGE_SIZE]
    return page(
        request,
        "admin_enrolments.html",
        principal,
        error=error,
        failed=failed,
        values=values or {},
        rows=shown,
        more=shown[-1].school.id if len(rows) > PAGE_SIZE else None,
        year=chosen,
        years=sorted({*offered_years(), chosen}),
        province=province_of_page(principal, (province or "").strip()[:2] or None),
        provinces=[p for p, _ in await regions.list_provinces(tx)],
        q=q or "",
    )


class AdminEnrolmentPages(Controller):
    path = "/admin/enrolments"
    include_in_schema = False

    @get("/")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        year: str | None = None,
        province: str | None = None,
        q: str | None = None,
        after: int | None = None,
    ) -> Response[Any]:
        return await enrolments_page(
            request, tx, principal, year=year, province=province, q=q, after=after
        )

    @post("/{school_id:int}")
    async def put(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        """One school's enrolment of one year, from the year's list or the school's page
        (`back`: "school" for the latter)."""
        form = await Form.of(request)
        year = form.text("school_year", max_length=None)
        from_school = form.values.get("back") == "school"
        data = form.into(EnrolmentWrite)
        result: Any = (
            form.refusal()
            if data is None
            else await attempt(tx, lambda: schools.put_enrolment(tx, principal, school_id, data))
        )
        if isinstance(result, DomainError):
            if from_school:
                return await school_page(
                    request,
                    tx,
                    principal,
                    school_id,
                    error=result,
                    failed="enrolment",
                    values=form.values,
                )
            return await enrolments_page(
                request,
                tx,
                principal,
                year=year,
                q=form.text("q", max_length=100),
                error=result,
                failed=school_id,
                values=form.values,
            )
        if from_school:
            return done(f"/admin/schools/{school_id}", "Saved.")
        return done(f"/admin/enrolments?year={result.school_year}", "Saved.")

    @post(
        "/import",
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
    ) -> Response[Any]:
        form = await Form.of(request)
        year = form.text("school_year", max_length=9)
        upload = form.file("file")
        result: Any = form.refusal("Choose a CSV or Excel file.")
        if upload is not None:
            result = await attempt(
                tx,
                lambda: importer.import_enrolments(
                    tx,
                    principal,
                    upload[0],
                    upload[1],
                    UploadLimits.of(settings),
                    school_year=year,
                ),
            )
        if isinstance(result, DomainError):
            return await enrolments_page(request, tx, principal, year=year, error=result)
        return done(
            f"/admin/enrolments?year={year or _year(None)}",
            "{n} enrolments imported.",
            n=result.enrolments,
        )

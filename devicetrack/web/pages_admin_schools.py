"""Administration of the school registry: the list (by province, name or code, active or
not), adding a school, importing schools from Excel, one school's page (edit, deactivate
or reactivate, its enrolments). The same services as the API (schools/): an officer keeps
their province's schools; another province's answer "not found"."""

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
from devicetrack.schools.schemas import SchoolCreate, SchoolUpdate
from devicetrack.schools.values import SchoolLevel
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.pages_province import offered_years
from devicetrack.web.render import page

PAGE_SIZE = 50
ACTIVE = {"1": True, "0": False}


def _levels(form: Form) -> list[str]:
    """The ticked levels: a form sends none at all when none is ticked, which is no level
    (not "unchanged")."""
    return form.many("levels")


async def schools_page(
    request: Request[Any, Any, Any],
    tx: AsyncSession,
    principal: Principal,
    *,
    province: str | None = None,
    active: str | None = None,
    q: str | None = None,
    after: int | None = None,
    error: DomainError | None = None,
    values: dict[str, Any] | None = None,
) -> Response[Any]:
    """The schools the reader keeps, with the forms to add one and to import many."""
    q = (q or "").strip()[:100] or None
    rows = await schools.list_registry(
        tx,
        principal,
        province=(province or "").strip()[:2] or None,
        active=ACTIVE.get(active or ""),
        q=q,
        after_id=after,
        limit=PAGE_SIZE,
    )
    shown = rows[:PAGE_SIZE]
    code = province_of_page(principal, (province or "").strip()[:2] or None)
    return page(
        request,
        "admin_schools.html",
        principal,
        error=error,
        values=values or {},
        schools=shown,
        more=shown[-1].id if len(rows) > PAGE_SIZE else None,
        province=code,
        active=active if active in ACTIVE else "",
        q=q or "",
        provinces=[p for p, _ in await regions.list_provinces(tx)],
        communes=await regions.list_communes(tx, code) if code else [],
        commune_names=await regions.commune_names(tx, [s.commune_code for s in shown]),
        levels=SchoolLevel,
    )


async def school_page(
    request: Request[Any, Any, Any],
    tx: AsyncSession,
    principal: Principal,
    school_id: int,
    *,
    error: DomainError | None = None,
    failed: str | None = None,
    values: dict[str, Any] | None = None,
) -> Response[Any]:
    """One school to edit, with its enrolments; after a refused change, that form shows
    the reason and what was typed."""
    school = schools.school_read(await schools.school_to_manage(tx, principal, school_id))
    return page(
        request,
        "admin_school.html",
        principal,
        error=error,
        failed=failed,
        values=values or {},
        school=school,
        communes=await regions.list_communes(tx, school.province_code),
        enrolments=await schools.list_enrolments(tx, principal, school_id),
        years=offered_years(),
        levels=SchoolLevel,
    )


class AdminSchoolPages(Controller):
    path = "/admin/schools"
    include_in_schema = False

    @get("/")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        active: str | None = None,
        q: str | None = None,
        after: int | None = None,
    ) -> Response[Any]:
        return await schools_page(
            request, tx, principal, province=province, active=active, q=q, after=after
        )

    @post("/")
    async def add(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal
    ) -> Response[Any]:
        form = await Form.of(request)
        data = form.into(SchoolCreate, levels=_levels(form))
        result: Any = (
            form.refusal()
            if data is None
            else await attempt(tx, lambda: schools.create_school(tx, principal, data))
        )
        if isinstance(result, DomainError):
            return await schools_page(
                request,
                tx,
                principal,
                province=form.text("province_code", max_length=None),
                error=result,
                values=form.values,
            )
        return done(f"/admin/schools/{result.id}", "School added.")

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
        upload = form.file("file")
        result: Any = form.refusal("Choose a CSV or Excel file.")
        if upload is not None:
            result = await attempt(
                tx,
                lambda: importer.import_schools(
                    tx, principal, upload[0], upload[1], UploadLimits.of(settings)
                ),
            )
        if isinstance(result, DomainError):
            return await schools_page(request, tx, principal, error=result)
        return done("/admin/schools", "{n} schools imported.", n=result.created)

    @get("/{school_id:int}")
    async def school(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        return await school_page(request, tx, principal, school_id)

    async def _update(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
        form: Form,
        failed: str,
        data: SchoolUpdate | None,
        message: str = "Saved.",
    ) -> Response[Any]:
        result: Any = (
            form.refusal()
            if data is None
            else await attempt(tx, lambda: schools.update_school(tx, principal, school_id, data))
        )
        if isinstance(result, DomainError):
            return await school_page(
                request, tx, principal, school_id, error=result, failed=failed, values=form.values
            )
        return done(f"/admin/schools/{school_id}", message)

    @post("/{school_id:int}")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        form = await Form.of(request)
        data = form.into(SchoolUpdate, levels=_levels(form))
        return await self._update(request, tx, principal, school_id, form, "edit", data)

    @post("/{school_id:int}/active")
    async def active(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        form = await Form.of(request)
        on = form.flag("active")
        return await self._update(
            request,
            tx,
            principal,
            school_id,
            form,
            "active",
            form.into(SchoolUpdate, active=on),
            "Reactivated." if on else "Deactivated.",
        )

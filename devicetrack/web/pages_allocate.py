"""Allocating stock to a school (province officers): by kind and quantity, or by scanning
tags. The result is its own page (post/redirect/get), so a reload allocates nothing."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations import service as allocations
from devicetrack.allocations.schemas import AllocationCreate
from devicetrack.auth.principal import Principal
from devicetrack.devices.values import DeviceKind
from devicetrack.errors import DomainError, FieldError
from devicetrack.i18n import N_
from devicetrack.reports import service as reports
from devicetrack.schools import service as schools
from devicetrack.web.forms import Form, attempt, scanned_codes
from devicetrack.web.render import page


class AllocationPages(Controller):
    path = "/schools/{school_id:int}"
    include_in_schema = False

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
        allocations.ensure_may_allocate(principal)
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
            stock=await reports.stock_by_kind(tx, principal, school.province_code),
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
                FieldError(
                    field="quantity", message=N_("choose a kind and a quantity, or scan tags")
                )
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

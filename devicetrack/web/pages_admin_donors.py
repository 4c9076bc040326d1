"""Administration of the donor register: the list (by name or kind), adding a donor and
editing one. The register is shared by every province; an officer edits a donor that gives
only in their province (donations.service.donor_to_edit and update_donor decide). The same
services as the API."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.donations import service as donations
from devicetrack.donors import service as donors
from devicetrack.donors.schemas import DonorCreate, DonorUpdate
from devicetrack.donors.values import DonorKind
from devicetrack.errors import DomainError
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.render import page

PAGE_SIZE = 50


def _donor_form(form: Form) -> Form:
    """The add and edit forms as the API's bodies take them: a country code in capitals
    ("vn" typed is VN). Contacts left empty are cleared (Form.into)."""
    country = form.values.get("country")
    if isinstance(country, str):
        form.values["country"] = country.strip().upper()
    return form


async def donors_page(
    request: Request[Any, Any, Any],
    tx: AsyncSession,
    principal: Principal,
    *,
    q: str | None = None,
    kind: str | None = None,
    after: int | None = None,
    error: DomainError | None = None,
    values: dict[str, Any] | None = None,
) -> Response[Any]:
    q = (q or "").strip()[:100] or None
    chosen = kind if kind in set(DonorKind) else None
    rows = await donors.list_register(
        tx, principal, q=q, kind=chosen, after_id=after, limit=PAGE_SIZE
    )
    shown = rows[:PAGE_SIZE]
    return page(
        request,
        "admin_donors.html",
        principal,
        error=error,
        values=values or {},
        donors=shown,
        more=shown[-1].id if len(rows) > PAGE_SIZE else None,
        q=q or "",
        kind=chosen or "",
        kinds=DonorKind,
    )


class AdminDonorPages(Controller):
    path = "/admin/donors"
    include_in_schema = False

    @get("/")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        q: str | None = None,
        kind: str | None = None,
        after: int | None = None,
    ) -> Response[Any]:
        return await donors_page(request, tx, principal, q=q, kind=kind, after=after)

    @post("/")
    async def add(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal
    ) -> Response[Any]:
        form = _donor_form(await Form.of(request))
        data = form.into(DonorCreate)
        result: Any = (
            form.refusal()
            if data is None
            else await attempt(tx, lambda: donors.create_donor(tx, principal, data))
        )
        if isinstance(result, DomainError):
            return await donors_page(request, tx, principal, error=result, values=form.values)
        return done("/admin/donors", "Donor added.")

    async def _donor_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        donor_id: int,
        *,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        donor = await donations.donor_to_edit(tx, principal, donor_id)
        return page(
            request,
            "admin_donor.html",
            principal,
            error=error,
            values=values,
            donor=donor,
            kinds=DonorKind,
        )

    @get("/{donor_id:int}")
    async def donor(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, donor_id: int
    ) -> Response[Any]:
        return await self._donor_page(request, tx, principal, donor_id)

    @post("/{donor_id:int}")
    async def edit(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, donor_id: int
    ) -> Response[Any]:
        await donations.donor_to_edit(tx, principal, donor_id)  # the register's keepers only
        form = _donor_form(await Form.of(request))
        data = form.into(DonorUpdate)
        result: Any = (
            form.refusal()
            if data is None
            else await attempt(tx, lambda: donations.update_donor(tx, principal, donor_id, data))
        )
        if isinstance(result, DomainError):
            return await self._donor_page(
                request, tx, principal, donor_id, error=result, values=form.values
            )
        return done(f"/admin/donors/{donor_id}", "Saved.")

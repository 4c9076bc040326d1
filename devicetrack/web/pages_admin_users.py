"""Administration of users: the list (by role, school, province, active, name), one user's
page (name and language, role and scope, deactivate or reactivate, a password reset link,
their API keys), and issuing a key for them. Administrators manage everyone; a province
officer the officers and school staff of their province (accounts.users decides; a user
out of reach is "not found"). Invitations: pages_admin_invitations.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.accounts import service as accounts
from devicetrack.accounts import users
from devicetrack.accounts.values import InvitationStatus
from devicetrack.auth import service as auth
from devicetrack.auth.principal import Principal
from devicetrack.auth.schemas import ApiKeyCreate, UserUpdate
from devicetrack.auth.values import Locale, Role
from devicetrack.config import Settings
from devicetrack.donors import service as donors
from devicetrack.errors import DomainError, FieldError
from devicetrack.i18n import N_
from devicetrack.regions import service as regions
from devicetrack.schools import service as schools
from devicetrack.web.forms import Form, attempt, codes_in
from devicetrack.web.navigation import done
from devicetrack.web.render import page

PAGE_SIZE = 50
INVITATIONS_SHOWN = 100
MAX_ID = 2**31 - 1
ACTIVE = {"1": True, "0": False}


async def places(
    tx: AsyncSession, principal: Principal, school_ids: Iterable[int], donor_ids: Iterable[int]
) -> dict[str, Any]:
    """What a list of users or invitations names beside each: schools, donors, provinces
    (the rows' scope was checked by the service that listed them)."""
    return {
        "school_names": await schools.school_names(tx, sorted(set(school_ids))),
        "donor_names": await donors.donor_names(tx, sorted(set(donor_ids))),
        "province_names": {p.code: p.name for p, _ in await regions.list_provinces(tx)},
    }


async def scope_choices(tx: AsyncSession, principal: Principal) -> dict[str, Any]:
    """The choices of a role form: roles, languages and donors (the template offers each
    reader only what they may give; the service checks it anyway)."""
    register = await donors.list_register(
        tx, principal, q=None, kind=None, after_id=None, limit=1000
    )
    return {"roles": Role, "locales": Locale, "donors": register[:1000]}


async def scope_of_form(
    tx: AsyncSession, principal: Principal, form: Form, role: Role | None
) -> dict[str, Any]:
    """The scope fields of a role form, as a body names them: the schools typed as codes
    (those the reader does not see are refused like unknown ones), the province, the
    donor; each only for the role that has it (and none when the role has no scope)."""
    codes = codes_in(form.text("school_codes", max_length=10_000))
    province = form.text("province_code", max_length=2)
    donor_id = form.integer("donor_id", high=MAX_ID)
    if role is Role.SCHOOL_STAFF:
        return {
            "school_ids": await schools.school_ids_for_codes(tx, principal, codes, "school_codes")
        }
    if role is Role.PROVINCE_OFFICER and province is not None:
        return {"province_code": province}
    if role is Role.DONOR and donor_id is not None:
        return {"donor_id": donor_id}
    return {}


# The form fields scope_of_form reads; a body takes them only from it.
SCOPE_FIELDS = ("school_ids", "province_code", "donor_id")


async def users_page(
    request: Request[Any, Any, Any],
    tx: AsyncSession,
    principal: Principal,
    *,
    filters: users.UserFilters | None = None,
    after: int | None = None,
    error: DomainError | None = None,
    values: dict[str, Any] | None = None,
) -> Response[Any]:
    """The users the reader manages (one page of them), the invitations still open and the
    forms to invite; a refused invitation shows its reason with what was typed."""
    filters = filters or users.UserFilters()
    rows = await users.list_users(tx, principal, filters, after_id=after, limit=PAGE_SIZE)
    shown = rows[:PAGE_SIZE]
    open_ = await accounts.list_invitations(
        tx, principal, status=InvitationStatus.PENDING, after_id=None, limit=INVITATIONS_SHOWN
    )
    return page(
        request,
        "admin_users.html",
        principal,
        error=error,
        values=values or {},
        users=shown,
        more=shown[-1].id if len(rows) > PAGE_SIZE else None,
        filters=filters,
        active="" if filters.active is None else "1" if filters.active else "0",
        invitations=open_[:INVITATIONS_SHOWN],
        **await places(
            tx,
            principal,
            [*(i for u in shown for i in u.school_ids), *(i for v in open_ for i in v.school_ids)],
            [d for d in (*(u.donor_id for u in shown), *(v.donor_id for v in open_)) if d],
        ),
        **await scope_choices(tx, principal),
    )


class AdminUserPages(Controller):
    path = "/admin/users"
    include_in_schema = False

    @get("/")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        role: str | None = None,
        school: str | None = None,
        province: str | None = None,
        active: str | None = None,
        q: str | None = None,
        after: int | None = None,
    ) -> Response[Any]:
        filters = users.UserFilters(
            role=Role(role) if role in set(Role) else None,
            school_code=(school or "").strip()[:32] or None,
            province_code=(province or "").strip()[:2] or None,
            active=ACTIVE.get(active or ""),
            q=(q or "").strip()[:100] or None,
        )
        return await users_page(request, tx, principal, filters=filters, after=after)

    async def _user_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        user_id: int,
        *,
        error: DomainError | None = None,
        failed: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        """One user; after a refused change, that form shows the reason and what was typed."""
        user = await users.get_user(tx, principal, user_id)
        return page(
            request,
            "admin_user.html",
            principal,
            error=error,
            failed=failed,
            values=values or {},
            user=user,
            user_schools=await schools.schools_by_id(tx, principal, user.school_ids),
            keys=await auth.keys_shown_with_user(tx, principal, user_id),
            sets_password=users.sets_passwords(principal),
            **await places(tx, principal, [], [user.donor_id] if user.donor_id else []),
            **await scope_choices(tx, principal),
        )

    @get("/{user_id:int}")
    async def user(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, user_id: int
    ) -> Response[Any]:
        return await self._user_page(request, tx, principal, user_id)

    async def _change(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        user_id: int,
        form: Form,
        failed: str,
        data: UserUpdate | None,
        message: str = "Saved.",
    ) -> Response[Any]:
        """Apply a change (None: the form was refused) and go back to the user's page."""
        result: Any = (
            form.refusal()
            if data is None
            else await attempt(tx, lambda: users.update_user(tx, principal, user_id, data))
        )
        if isinstance(result, DomainError):
            return await self._user_page(
                request, tx, principal, user_id, error=result, failed=failed, values=form.values
            )
        return done(f"/admin/users/{user_id}", message)

    @post("/{user_id:int}")
    async def details(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, user_id: int
    ) -> Response[Any]:
        form = await Form.of(request)
        data = form.into(UserUpdate)  # the form holds the name and the language
        return await self._change(request, tx, principal, user_id, form, "details", data)

    @post("/{user_id:int}/role")
    async def role(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, user_id: int
    ) -> Response[Any]:
        form = await Form.of(request)
        role = form.choice("role", Role, required=True)
        try:
            scope = await scope_of_form(tx, principal, form, role)
        except DomainError as exc:
            return await self._user_page(
                request, tx, principal, user_id, error=exc, failed="role", values=form.values
            )
        data = (
            None if role is None else form.into(UserUpdate, skip=SCOPE_FIELDS, role=role, **scope)
        )
        return await self._change(request, tx, principal, user_id, form, "role", data)

    @post("/{user_id:int}/active")
    async def active(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, user_id: int
    ) -> Response[Any]:
        form = await Form.of(request)
        on = form.flag("active")
        message = "Reactivated." if on else "Deactivated."
        data = form.into(UserUpdate, active=on)
        return await self._change(request, tx, principal, user_id, form, "active", data, message)

    @post("/{user_id:int}/password")
    async def set_password(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, user_id: int
    ) -> Response[Any]:
        """A temporary password, typed twice, for someone without email (no reset link
        reaches them): the API's body and service (PATCH /users/{id}), so its length rule
        and who may set one apply, and every session and API key of the account ends."""
        form = await Form.of(request)
        data = form.into(UserUpdate)  # the form holds the password (and it again)
        again = form.text("password_again", required=True, max_length=None)
        if data is not None and again is not None and again != data.password:
            form.errors.append(
                FieldError(field="password_again", message=N_("the two passwords differ"))
            )
            data = None
        return await self._change(
            request, tx, principal, user_id, form, "password", data, "Temporary password set."
        )

    @post("/{user_id:int}/password-reset")
    async def reset(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        user_id: int,
    ) -> Response[Any]:
        result = await attempt(tx, lambda: users.send_reset(tx, principal, settings, user_id))
        if isinstance(result, DomainError):
            return await self._user_page(
                request, tx, principal, user_id, error=result, failed="reset"
            )
        return done(f"/admin/users/{user_id}", "Password reset link sent.")

    @post("/{user_id:int}/api-keys")
    async def issue_key(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, user_id: int
    ) -> Response[Any]:
        """A new API key acting as this user, shown on this answer only (its hash is all that
        is kept)."""
        form = await Form.of(request)
        data = form.into(ApiKeyCreate, user_id=user_id)
        result: Any = (
            form.refusal()
            if data is None
            else await attempt(tx, lambda: auth.create_api_key(tx, principal, data))
        )
        if isinstance(result, DomainError):
            return await self._user_page(
                request, tx, principal, user_id, error=result, failed="key", values=form.values
            )
        return page(request, "admin_api_key_created.html", principal, key=result)

"""Inviting people from the users' page: one at a time or from a sheet (Excel or CSV), and
the open invitations sent again, printed (for staff without email) or revoked. The same
services as the API (accounts/): an officer invites staff and officers of their province
only, and sees only those invitations."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.accounts import importer
from devicetrack.accounts import service as accounts
from devicetrack.accounts.schemas import InvitationCreate
from devicetrack.accounts.scope import ensure_may_invite
from devicetrack.accounts.sheet import Words, invitation_sheets
from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Role
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body
from devicetrack.common.workers import off_loop
from devicetrack.config import Settings
from devicetrack.errors import DomainError
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.pages_admin_users import SCOPE_FIELDS, scope_of_form, users_page

BACK = "/admin/users"


class InvitationAdminPages(Controller):
    path = "/admin/users/invitations"
    include_in_schema = False

    @post("/")
    async def invite(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
    ) -> Response[Any]:
        ensure_may_invite(principal)  # before any school is looked up
        form = await Form.of(request)
        role = form.choice("role", Role, required=True)
        result: Any = form.refusal()
        if result is None:

            async def invite() -> Any:
                # The scope the role takes, read from the form's school codes or province.
                scope = await scope_of_form(tx, principal, form, role)
                data = form.into(InvitationCreate, skip=SCOPE_FIELDS, **scope)
                if data is None:
                    form.check()
                assert data is not None
                return await accounts.invite(tx, principal, settings, data)

            result = await attempt(tx, invite)
        if isinstance(result, DomainError):
            return await users_page(request, tx, principal, error=result, values=form.values)
        return done(BACK, "Invitation created.")

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
        ensure_may_invite(principal)  # before the upload is read
        form = await Form.of(request)
        upload = form.file("file")
        result: Any = form.refusal("Choose a CSV or Excel file.")
        if upload is not None:
            result = await attempt(
                tx,
                lambda: importer.import_invitations(
                    tx, principal, settings, upload[0], upload[1], UploadLimits.of(settings)
                ),
            )
        if isinstance(result, DomainError):
            return await users_page(request, tx, principal, error=result)
        return done(BACK, "{n} invitations created.", n=result.created)

    @post("/{invitation_id:int}/resend")
    async def resend(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        invitation_id: int,
    ) -> Response[Any]:
        result = await attempt(tx, lambda: accounts.resend(tx, principal, settings, invitation_id))
        if isinstance(result, DomainError):
            return await users_page(request, tx, principal, error=result)
        return done(BACK, "Invitation sent again.")

    @post("/{invitation_id:int}/revoke")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        invitation_id: int,
    ) -> Response[Any]:
        result = await attempt(tx, lambda: accounts.revoke(tx, principal, invitation_id))
        if isinstance(result, DomainError):
            return await users_page(request, tx, principal, error=result)
        return done(BACK, "Invitation revoked.")

    @post("/{invitation_id:int}/sheet")
    async def sheet(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        vietnamese_words: Words,
        invitation_id: int,
    ) -> Response[Any]:
        """The invitation printed for someone without email: a new one-time code (the old
        one stops working) and a QR code of the link, as a PDF."""
        result = await attempt(
            tx, lambda: accounts.sheet_entries(tx, principal, settings, [invitation_id])
        )
        if isinstance(result, DomainError):
            return await users_page(request, tx, principal, error=result)
        pdf = await off_loop(invitation_sheets, result, vietnamese_words)
        return Response(
            pdf,
            status_code=200,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="invitation-{invitation_id}.pdf"',
                "Cache-Control": "no-store",
            },
        )

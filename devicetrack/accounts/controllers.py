"""HTTP for accounts: resets and invitation acceptance (no sign-in needed), the caller's
own account, and invitations (admins, and officers within their province)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.accounts import importer, service
from devicetrack.accounts.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationImportResult,
    InvitationPage,
    InvitationRead,
    InvitationSheetsRequest,
    MeUpdate,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
)
from devicetrack.accounts.scope import ensure_may_invite
from devicetrack.accounts.sheet import Words, invitation_sheets
from devicetrack.accounts.values import InvitationStatus
from devicetrack.auth.client_address import client_address
from devicetrack.auth.principal import Principal
from devicetrack.auth.schemas import MeRead, TokenRead
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body, read_upload
from devicetrack.common.workers import off_loop
from devicetrack.config import Settings


class PasswordResetController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/password-reset",
        operation_id="requestPasswordReset",
        security=[],
        status_code=202,
        description=(
            "Mails a link valid one hour to the account with this email, if there is one. "
            "The answer is 202 either way; 429 after too many requests for one address or "
            "from one client."
        ),
    )
    async def request_reset(
        self,
        request: Request[Any, Any, Any],
        data: PasswordResetRequest,
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
    ) -> None:
        address = client_address(request, settings.trusted_proxies)
        await service.request_reset(tx, db_engine, settings, data.email, address)

    @post(
        "/password-reset/confirm",
        operation_id="confirmPasswordReset",
        security=[],
        status_code=204,
        description=(
            "Sets the new password with the link's token (once); every session and API "
            "key of the account ends."
        ),
    )
    async def confirm_reset(
        self,
        request: Request[Any, Any, Any],
        data: PasswordResetConfirm,
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
    ) -> None:
        address = client_address(request, settings.trusted_proxies)
        await service.confirm_reset(tx, db_engine, settings, data, address)

    @post(
        "/invitations/accept",
        operation_id="acceptInvitation",
        security=[],
        status_code=200,
        description="The invitee's password, with the invitation's one-time code: the user "
        "is made and signed in.",
    )
    async def accept(
        self,
        request: Request[Any, Any, Any],
        data: InvitationAccept,
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
    ) -> TokenRead:
        address = client_address(request, settings.trusted_proxies)
        return await service.accept(tx, db_engine, settings, data, address)


class OwnAccountController(Controller):
    path = "/me"
    tags = ["auth"]

    @patch("/", operation_id="updateMe", description="The caller's language (vi or en).")
    async def update(self, tx: AsyncSession, principal: Principal, data: MeUpdate) -> MeRead:
        return await service.update_me(tx, principal, data)

    @post(
        "/password",
        operation_id="changeMyPassword",
        status_code=200,
        description=(
            "The caller's new password, given the current one. Every session and API key "
            "of the account ends; the answer is a new token."
        ),
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
        principal: Principal,
        data: PasswordChange,
    ) -> TokenRead:
        address = client_address(request, settings.trusted_proxies)
        return await service.change_password(tx, db_engine, settings, principal, data, address)


class InvitationController(Controller):
    path = "/users/invitations"
    tags = ["users"]

    @post("/", operation_id="createInvitation")
    async def create(
        self, tx: AsyncSession, principal: Principal, settings: Settings, data: InvitationCreate
    ) -> InvitationRead:
        return await service.invite(tx, principal, settings, data)

    @get("/", operation_id="listInvitations")
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        status: InvitationStatus | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> InvitationPage:
        rows = await service.list_invitations(
            tx, principal, status=status, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return InvitationPage(items=items, next_cursor=next_cursor)

    @get("/{invitation_id:int}", operation_id="getInvitation")
    async def get_(
        self, tx: AsyncSession, principal: Principal, invitation_id: int
    ) -> InvitationRead:
        return await service.get_invitation(tx, principal, invitation_id)

    @post("/{invitation_id:int}/resend", operation_id="resendInvitation", status_code=200)
    async def resend(
        self, tx: AsyncSession, principal: Principal, settings: Settings, invitation_id: int
    ) -> InvitationRead:
        return await service.resend(tx, principal, settings, invitation_id)

    @delete("/{invitation_id:int}", operation_id="revokeInvitation")
    async def revoke(self, tx: AsyncSession, principal: Principal, invitation_id: int) -> None:
        await service.revoke(tx, principal, invitation_id)

    @post(
        "/sheets",
        operation_id="printInvitationSheets",
        status_code=200,
        media_type="application/pdf",
        description=(
            "A PDF with one page per invitation (sign-in name, a new one-time code and a QR "
            "code of the link), for staff without email. Each printed code replaces the "
            "invitation's previous one."
        ),
    )
    async def sheets(
        self,
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        vietnamese_words: Words,
        data: InvitationSheetsRequest,
    ) -> Response[bytes]:
        entries = await service.sheet_entries(tx, principal, settings, data.ids)
        pdf = await off_loop(invitation_sheets, entries, vietnamese_words)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="invitations.pdf"'},
        )


class UserImportController(Controller):
    path = "/users"
    tags = ["users"]

    @post(
        "/import",
        operation_id="importInvitations",
        request_max_body_size=None,  # Settings.max_upload_bytes, by limit_upload_body
        middleware=[limit_upload_body],
        after_response=after_upload,
        description=(
            "Invite people from a CSV or XLSX (multipart field `file`, or the raw file as the "
            "body) with columns email (or thư_điện_tử; empty for someone without email), "
            "full_name (họ_tên), role (vai_trò: a role code, or giáo viên, cán bộ trường, cán "
            "bộ sở…), school_codes (mã_trường, several separated by commas), province_code "
            "(mã_tỉnh), donor_id and locale (ngôn_ngữ). All-or-nothing: any bad row refuses "
            "the whole file."
        ),
    )
    async def import_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
    ) -> InvitationImportResult:
        ensure_may_invite(principal)  # before the upload is read
        data, filename = await read_upload(request)
        return await importer.import_invitations(
            tx, principal, settings, data, filename, UploadLimits.of(settings)
        )

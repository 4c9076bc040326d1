from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from devicetrack.accounts.values import InvitationStatus
from devicetrack.auth.limits import Email, NewPassword, Password
from devicetrack.auth.values import Locale, Role
from devicetrack.common.schemas import Body

FullName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# Long enough for a reset token and a typed invitation code, with dashes and spaces.
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class PasswordResetRequest(Body):
    email: Email


class PasswordResetConfirm(Body):
    token: Secret
    password: NewPassword


class PasswordChange(Body):
    current_password: Password
    new_password: NewPassword


class MeUpdate(Body):
    locale: Locale


class InvitationCreate(Body):
    """`email` may be left out for staff without one: a sign-in name is made up and the
    invitation is printed (POST /users/invitations/sheets) instead of mailed."""

    full_name: FullName
    role: Role
    email: Email | None = None
    school_ids: list[int] = []
    province_code: str | None = None
    donor_id: int | None = None
    locale: Locale = Locale.VI


class InvitationRead(msgspec.Struct):
    id: int
    email: str
    mailed: bool  # whether the invitation goes by email (False: printed on a sheet)
    full_name: str
    role: Role
    province_code: str | None
    school_ids: list[int]
    donor_id: int | None
    locale: str
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    accepted_at: datetime | None
    revoked_at: datetime | None
    user_id: int | None


class InvitationPage(msgspec.Struct):
    items: list[InvitationRead]
    next_cursor: str | None


class InvitationImportResult(msgspec.Struct):
    created: int
    invitation_ids: list[int]


class InvitationSheetsRequest(Body):
    ids: Annotated[list[int], msgspec.Meta(min_length=1, max_length=500)]


class InvitationAccept(Body):
    code: Secret
    password: NewPassword

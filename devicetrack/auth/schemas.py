from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType

from devicetrack.auth.limits import Email, Name, NewPassword, Password
from devicetrack.auth.values import Locale, Role
from devicetrack.common.schemas import Body


class TokenRequest(Body):
    email: Email
    password: Password


class TokenRead(msgspec.Struct):
    access_token: str
    expires_at: datetime
    token_type: str = "bearer"


class MeRead(msgspec.Struct):
    id: int
    email: str
    full_name: str
    role: Role
    province_code: str | None
    school_ids: list[int]
    donor_id: int | None
    locale: str


class UserCreate(Body):
    email: Email
    full_name: Name
    password: NewPassword
    role: Role
    province_code: str | None = None
    school_ids: list[int] = []
    donor_id: int | None = None
    locale: Locale = Locale.VI


class UserUpdate(Body):
    """Body of PATCH /users/{id}: a field left out is unchanged."""

    full_name: Name | UnsetType = UNSET
    password: NewPassword | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    school_ids: list[int] | UnsetType = UNSET
    locale: Locale | UnsetType = UNSET


class UserRead(msgspec.Struct):
    id: int
    email: str
    full_name: str
    role: Role
    province_code: str | None
    school_ids: list[int]
    donor_id: int | None
    active: bool
    locale: str
    created_at: datetime


class UserPage(msgspec.Struct):
    items: list[UserRead]
    next_cursor: str | None


class ApiKeyCreate(Body):
    name: Name
    user_id: int


class ApiKeyRead(msgspec.Struct):
    id: int
    name: str
    prefix: str
    user_id: int
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(msgspec.Struct):
    id: int
    name: str
    user_id: int
    # Shown once: only its hash is kept.
    key: str


class ApiKeyPage(msgspec.Struct):
    items: list[ApiKeyRead]
    next_cursor: str | None

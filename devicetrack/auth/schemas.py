from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from devicetrack.auth.values import Locale, Role
from devicetrack.common.schemas import Body

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
NewPassword = Annotated[str, msgspec.Meta(min_length=10, max_length=200)]


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
    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: NewPassword
    role: Role
    province_code: str | None = None
    school_ids: list[int] = []
    donor_id: int | None = None
    locale: Locale = Locale.VI


class UserUpdate(Body):
    """What an administrator changes about a user (accounts.users.update_user). A new role
    takes the scope that role needs (`province_code`, `school_ids` or `donor_id`); only an
    administrator sets a password."""

    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    password: NewPassword | None = None
    active: bool | None = None
    role: Role | None = None
    province_code: str | None = None
    school_ids: list[int] | None = None
    donor_id: int | None = None
    locale: Locale | None = None


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
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    user_id: int


class ApiKeyRead(msgspec.Struct):
    id: int
    name: str
    prefix: str
    user_id: int
    user_email: str
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

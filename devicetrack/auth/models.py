from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from devicetrack.auth.limits import LENGTHS
from devicetrack.auth.values import Locale, Role
from devicetrack.db.columns import created_at, length_checks, one_of, timestamp


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="role_known"),
        CheckConstraint(one_of("locale", Locale), name="locale_known"),
        CheckConstraint(
            "role <> 'province_officer' OR province_code IS NOT NULL",
            name="province_officer_has_province",
        ),
        CheckConstraint("role <> 'donor' OR donor_id IS NOT NULL", name="donor_has_donor"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        *length_checks("users", LENGTHS),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    full_name: str
    password_hash: str
    role: str
    province_code: str | None = Field(
        default=None, sa_type=String(2), sa_column_args=[ForeignKey("provinces.code")]
    )
    donor_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("donors.id"), nullable=True)
    )
    active: bool = True
    locale: str = "vi"
    created_at: datetime | None = created_at()


class UserSchool(SQLModel, table=True):
    """Which schools a school_staff member serves (one or more)."""

    __tablename__ = "user_schools"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    school_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )


class AuthToken(SQLModel, table=True):
    """A bearer token from /auth/token; only its SHA-256 is stored."""

    __tablename__ = "auth_tokens"

    token_hash: str = Field(primary_key=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime | None = created_at()
    expires_at: datetime = timestamp(nullable=False)


class ApiKey(SQLModel, table=True):
    """A key an admin issues for an integration; it acts as the user it belongs to."""

    __tablename__ = "api_keys"
    __table_args__ = (*length_checks("api_keys", LENGTHS),)

    id: int | None = Field(default=None, primary_key=True)
    name: str
    prefix: str
    key_hash: str = Field(unique=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_by: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), nullable=False))
    created_at: datetime | None = created_at()
    revoked_at: datetime | None = timestamp()
    last_used_at: datetime | None = timestamp()


class LoginAttempt(SQLModel, table=True):
    """Failed logins, kept for throttling per account and per client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True)
    address: str = Field(index=True)
    at: datetime | None = created_at()

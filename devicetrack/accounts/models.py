from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from devicetrack.auth.values import Locale, Role
from devicetrack.db.columns import created_at, one_of, timestamp


class PasswordReset(SQLModel, table=True):
    """A one-time link to set a new password; only its SHA-256 is stored."""

    __tablename__ = "password_resets"

    token_hash: str = Field(primary_key=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime | None = created_at()
    expires_at: datetime = timestamp(nullable=False)
    used_at: datetime | None = timestamp()


class Invitation(SQLModel, table=True):
    """Someone asked to join with a role and its scope. The user is made when the invitee
    sets a password with the one-time code (only its SHA-256 is kept). `email` is the
    sign-in name; for staff without email it is made up and ends in `.invalid`.
    `province_code` is the invitation's province (the officer's, or the invited staff's
    schools'), by which province officers see and manage it."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="role_known"),
        CheckConstraint(one_of("locale", Locale), name="locale_known"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        # One open invitation per address: a second is a resend, not another code.
        Index(
            "uq_invitations_open_email",
            "email",
            unique=True,
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str
    full_name: str
    role: str
    province_code: str | None = Field(
        default=None,
        sa_type=String(2),
        sa_column_args=[ForeignKey("provinces.code")],
        index=True,
    )
    donor_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("donors.id"), nullable=True)
    )
    school_ids: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Integer), nullable=False, server_default="{}"),
    )
    locale: str = Locale.VI
    code_hash: str = Field(unique=True)
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime | None = created_at()
    expires_at: datetime = timestamp(nullable=False)
    sent_at: datetime | None = timestamp()
    accepted_at: datetime | None = timestamp()
    revoked_at: datetime | None = timestamp()
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )

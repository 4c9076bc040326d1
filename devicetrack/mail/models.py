from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, LargeBinary, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from devicetrack.db.columns import created_at, one_of, timestamp
from devicetrack.mail.values import MailStatus, Transport


class MailMessage(SQLModel, table=True):
    """One email: to whom, which template, its state and its last error. `context` (the
    template's values, which may hold a one-time link) is kept only until the message is
    sent or has failed for good; the rendered text is kept only for the outbox.
    `student_ids` names the students a message carries (erasing one erases it: 0035)."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        CheckConstraint(one_of("status", MailStatus), name="status_known"),
        CheckConstraint(one_of("transport", Transport), name="transport_known"),
        Index("ix_mail_messages_status", "status", "id"),
        Index(
            "ix_mail_messages_student_ids",
            "student_ids",
            postgresql_using="gin",
            postgresql_where=text("student_ids <> '{}'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    to_address: str
    user_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    template: str
    locale: str
    status: str = MailStatus.QUEUED
    transport: str | None = None
    attempts: int = 0
    context: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB(none_as_null=True), nullable=True)
    )
    subject: str | None = None
    text_body: str | None = None
    html_body: str | None = None
    last_error: str | None = None
    student_ids: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Integer), nullable=False, server_default="{}"),
    )
    created_at: datetime | None = created_at()
    sent_at: datetime | None = timestamp()


class MailAttachment(SQLModel, table=True):
    """A file a message carries (a digest's spreadsheet or PDF), kept until an SMTP server
    took the message; the outbox keeps it with the message's text."""

    __tablename__ = "mail_attachments"
    __table_args__ = (CheckConstraint("filename <> ''", name="filename_given"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("mail_messages.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    filename: str
    content_type: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))

from __future__ import annotations

from datetime import datetime

import msgspec

from devicetrack.mail.values import MailStatus, Transport


class MailMessageRead(msgspec.Struct):
    """A message's record, never its text (which may hold a one-time link)."""

    id: int
    to: str
    template: str
    locale: str
    status: MailStatus
    transport: Transport | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


class MailPage(msgspec.Struct):
    items: list[MailMessageRead]
    next_cursor: str | None


class OutboxAttachment(msgspec.Struct):
    """An attachment's name and size, listed with its message; its bytes are fetched apart."""

    id: int
    filename: str
    content_type: str
    size: int


class OutboxMessage(msgspec.Struct):
    id: int
    to: str
    template: str
    subject: str
    text: str
    sent_at: datetime | None
    attachments: list[OutboxAttachment] = msgspec.field(default_factory=list)

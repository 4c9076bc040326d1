"""Queries for mail_messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.mail.models import MailAttachment, MailMessage
from devicetrack.mail.smtp import Attachment
from devicetrack.mail.values import MailStatus, Transport

# Why a message erasure stopped was never sent.
ERASED = "erased: it named a student whose personal data was erased"


async def add(session: AsyncSession, message: MailMessage) -> int:
    session.add(message)
    await session.flush()
    assert message.id is not None
    return message.id


async def attach(session: AsyncSession, message_id: int, files: Sequence[Attachment]) -> None:
    if files:
        await session.execute(
            insert(MailAttachment),
            [
                {
                    "message_id": message_id,
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "content": f.content,
                }
                for f in files
            ],
        )


async def attachments(session: AsyncSession, message_id: int) -> tuple[Attachment, ...]:
    rows = await session.execute(
        select(MailAttachment.filename, MailAttachment.content_type, MailAttachment.content)
        .where(MailAttachment.message_id == message_id)
        .order_by(MailAttachment.id)
    )
    return tuple(Attachment(*r) for r in rows)


async def attachment_list(
    session: AsyncSession, message_ids: Sequence[int]
) -> list[tuple[int, int, str, str, int]]:
    """(message id, attachment id, filename, content type, size) of the messages' files."""
    rows = await session.execute(
        select(
            MailAttachment.message_id,
            MailAttachment.id,
            MailAttachment.filename,
            MailAttachment.content_type,
            func.octet_length(MailAttachment.content),
        )
        .where(MailAttachment.message_id.in_(message_ids))
        .order_by(MailAttachment.id)
    )
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


async def attachment(
    session: AsyncSession, message_id: int, attachment_id: int
) -> Attachment | None:
    row = (
        await session.execute(
            select(MailAttachment.filename, MailAttachment.content_type, MailAttachment.content)
            .where(MailAttachment.id == attachment_id)
            .where(MailAttachment.message_id == message_id)
        )
    ).first()
    return Attachment(*row) if row is not None else None


async def drop_attachments(session: AsyncSession, message_id: int) -> None:
    await session.execute(delete(MailAttachment).where(MailAttachment.message_id == message_id))


async def get(session: AsyncSession, message_id: int) -> MailMessage | None:
    return await session.get(MailMessage, message_id)


async def finish(session: AsyncSession, message_id: int, **values: Any) -> None:
    """A message's new state; the context (which may hold a one-time link) goes with any
    final state, and so does the rendered text except for the outbox."""
    await session.execute(update(MailMessage).where(MailMessage.id == message_id).values(values))


async def delivered(
    session: AsyncSession,
    message_id: int,
    transport: Transport,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
) -> None:
    await finish(
        session,
        message_id,
        status=MailStatus.SENT,
        transport=transport,
        attempts=MailMessage.attempts + 1,
        sent_at=func.now(),
        context=None,
        subject=subject,
        text_body=text,
        html_body=html,
        last_error=None,
    )


async def attempt_failed(
    session: AsyncSession, message_id: int, error: str, *, final: bool
) -> None:
    values: dict[str, Any] = {
        "attempts": MailMessage.attempts + 1,
        "last_error": error[:1000],
        "transport": Transport.SMTP,
    }
    if final:
        values |= {"status": MailStatus.FAILED, "context": None}
    await finish(session, message_id, **values)


async def listing(
    session: AsyncSession,
    *,
    status: str | None,
    transport: str | None = None,
    before_id: int | None,
    limit: int,
) -> Sequence[MailMessage]:
    """Newest first."""
    query = select(MailMessage).order_by(MailMessage.id.desc()).limit(limit + 1)
    if status is not None:
        query = query.where(MailMessage.status == status)
    if transport is not None:
        query = query.where(MailMessage.transport == transport)
    if before_id is not None:
        query = query.where(MailMessage.id < before_id)
    return list((await session.execute(query)).scalars())


async def forget_student(session: AsyncSession, student_id: int) -> None:
    """Every message naming this student loses its context and text; one not yet sent is
    failed, never to be sent (the row stays: who was mailed what template, and when)."""
    await session.execute(
        update(MailMessage)
        .where(
            MailMessage.student_ids.contains([student_id]),
            MailMessage.student_ids != [],
        )
        .values(
            context=None,
            text_body=None,
            html_body=None,
            student_ids=[],
            status=case(
                (MailMessage.status == MailStatus.QUEUED, MailStatus.FAILED),
                else_=MailMessage.status,
            ),
            last_error=case(
                (MailMessage.status == MailStatus.QUEUED, ERASED),
                else_=MailMessage.last_error,
            ),
        )
    )

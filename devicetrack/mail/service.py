"""Composing, delivering and listing email.

`compose` runs in the caller's transaction: it records the message and enqueues its
delivery there, so a change that rolls back sends nothing. `deliver` is the job's body: it
renders the message in the reader's language and hands it to the SMTP server, or, with no
server configured, to the outbox and the log."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.errors import Forbidden, NotFound
from devicetrack.i18n import N_
from devicetrack.jobs.queue import enqueue
from devicetrack.jobs.runtime import Runtime
from devicetrack.mail import repository as repo
from devicetrack.mail import smtp
from devicetrack.mail.models import MailMessage
from devicetrack.mail.render import Translations, render
from devicetrack.mail.schemas import MailMessageRead, OutboxAttachment, OutboxMessage
from devicetrack.mail.templates import TEMPLATES
from devicetrack.mail.values import MailStatus, Transport

log = logging.getLogger("devicetrack.mail")

SEND_TASK = "mail.send"
# RFC 6761 reserves .invalid: such an address is a sign-in name of someone without email
# (accounts/ gives one to staff invited on paper), never a mailbox.
NO_MAILBOX_SUFFIX = ".invalid"


def has_mailbox(address: str) -> bool:
    return not address.lower().endswith(NO_MAILBOX_SUFFIX)


async def compose(
    session: AsyncSession,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    locale: str,
    user_id: int | None = None,
    attachments: Sequence[smtp.Attachment] = (),
    student_ids: Sequence[int] = (),
) -> int | None:
    """Record a message (and the files it carries) and enqueue its delivery, in the
    caller's transaction. Returns its id, or None for an address that is no mailbox
    (nothing is recorded). A template naming students is given whom it names
    (`student_ids`), so that erasing one of them erases the message (forget_student)."""
    spec = TEMPLATES[template]
    if set(context) != spec.fields:
        raise ValueError(f"{template} takes {sorted(spec.fields)}, got {sorted(context)}")
    if student_ids and not spec.names_students:
        raise ValueError(f"{template} names no student")
    if not has_mailbox(to):
        log.info("no mail for %s (%s): the address is no mailbox", to, template)
        return None
    message_id = await repo.add(
        session,
        MailMessage(
            to_address=to,
            user_id=user_id,
            template=template,
            locale=locale,
            context=context,
            student_ids=sorted(set(student_ids)),
        ),
    )
    await repo.attach(session, message_id, attachments)
    await enqueue(session, SEND_TASK, {"message_id": message_id})
    return message_id


async def deliver(
    runtime: Runtime, translations: Translations, message_id: int, *, last: bool
) -> None:
    """Render and send one message. Raises smtp.NotSent for a try worth repeating (the
    queue retries it) and smtp.Refused for a refusal; either way the try is recorded, and
    on the last try or a refusal the message is marked failed."""
    async with runtime.transaction() as session:
        message = await repo.get(session, message_id)
        files = await repo.attachments(session, message_id)
    if message is None or message.status != MailStatus.QUEUED or message.context is None:
        return  # already delivered or failed: a repeated job does nothing
    letter = render(
        message.template,
        message.context,
        message.to_address,
        translations(message.locale),
        files,
    )
    settings = runtime.settings
    if settings.smtp_url is None:
        async with runtime.transaction() as session:
            await repo.delivered(
                session, message_id, Transport.OUTBOX, letter.subject, letter.text, letter.html
            )
        # A message naming students (the overdue-loans digest) is read in the outbox, by
        # admins: its text is not copied into the log, where anyone running it reads.
        names = TEMPLATES[message.template].names_students
        log.info(
            "outbox (no DEVICETRACK_SMTP_URL): mail %s to %s\nSubject: %s\n\n%s",
            message_id,
            letter.to,
            letter.subject,
            "(the text names students: read it at /admin/outbox)" if names else letter.text,
        )
        return
    server = smtp.parse_smtp_url(settings.smtp_url)
    try:
        await smtp.send(server, smtp.as_email(letter, settings.mail_from))
    except (smtp.NotSent, smtp.Refused) as exc:
        final = last or isinstance(exc, smtp.Refused)
        async with runtime.transaction() as session:
            await repo.attempt_failed(session, message_id, str(exc), final=final)
            if final:
                await repo.drop_attachments(session, message_id)
        log.warning(
            "mail %s to %s not sent%s: %s",
            message_id,
            letter.to,
            "" if final else " (will retry)",
            exc,
        )
        raise
    async with runtime.transaction() as session:
        await repo.delivered(session, message_id, Transport.SMTP)
        await repo.drop_attachments(session, message_id)
    log.info("mail %s (%s) sent to %s", message_id, message.template, letter.to)


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden(N_("Only an administrator reads the mail records."))


def _read(m: MailMessage) -> MailMessageRead:
    assert m.id is not None and m.created_at is not None
    return MailMessageRead(
        id=m.id,
        to=m.to_address,
        template=m.template,
        locale=m.locale,
        status=MailStatus(m.status),
        transport=Transport(m.transport) if m.transport else None,
        attempts=m.attempts,
        created_at=m.created_at,
        sent_at=m.sent_at,
        last_error=m.last_error,
    )


async def list_messages(
    session: AsyncSession,
    principal: Principal,
    *,
    status: MailStatus | None,
    before_id: int | None,
    limit: int,
) -> list[MailMessageRead]:
    _require_admin(principal)
    rows = await repo.listing(session, status=status, before_id=before_id, limit=limit)
    return [_read(m) for m in rows]


async def outbox(
    session: AsyncSession, principal: Principal, *, before_id: int | None, limit: int
) -> list[OutboxMessage]:
    """What went to the outbox instead of an SMTP server, newest first, with its text."""
    _require_admin(principal)
    rows = await repo.listing(
        session,
        status=MailStatus.SENT,
        transport=Transport.OUTBOX,
        before_id=before_id,
        limit=limit,
    )
    files: dict[int, list[OutboxAttachment]] = {}
    for message_id, file_id, filename, content_type, size in await repo.attachment_list(
        session, [m.id for m in rows if m.id is not None]
    ):
        files.setdefault(message_id, []).append(
            OutboxAttachment(id=file_id, filename=filename, content_type=content_type, size=size)
        )
    return [
        OutboxMessage(
            id=m.id or 0,
            to=m.to_address,
            template=m.template,
            subject=m.subject or "",
            text=m.text_body or "",
            sent_at=m.sent_at,
            attachments=files.get(m.id or 0, []),
        )
        for m in rows
    ]


async def forget_student(session: AsyncSession, student_id: int) -> None:
    """Erasing a child erases the mail that names them (students.service.erase_student)."""
    await repo.forget_student(session, student_id)


async def outbox_attachment(
    session: AsyncSession, principal: Principal, message_id: int, attachment_id: int
) -> smtp.Attachment:
    """One file attached to an outbox message (the digests' XLSX and PDF), for the admin
    reading the outbox to open as its recipient would."""
    _require_admin(principal)
    found = await repo.attachment(session, message_id, attachment_id)
    if found is None:
        raise NotFound(N_("Not found"))
    return found

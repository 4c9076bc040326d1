"""DEVICETRACK_SMTP_URL and the one place that talks SMTP (aiosmtplib).

    smtp://user:pass@host:587    STARTTLS, required (the default for smtp://, port 587)
    smtps://user:pass@host:465   TLS from the first byte (implicit TLS)
    smtp://host:25               STARTTLS when the server offers it (a local relay)
    smtp://127.0.0.1:2525?tls=none   no TLS at all: a test server or a relay on this machine

User and password are optional and URL-encoded (`%40` for an `@` in a user name)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

TIMEOUT_SECONDS = 30


class SmtpUrlInvalid(ValueError):
    pass


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    # True: STARTTLS required; None: when offered; False: never.
    starttls: bool | None

    def __repr__(self) -> str:  # never the password in a log line
        return f"SmtpServer({self.host}:{self.port}, user={self.username!r})"


def parse_smtp_url(url: str) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpUrlInvalid("DEVICETRACK_SMTP_URL must look like smtp://user:pass@host:587")
    query = parse_qs(parts.query)
    plain = query.get("tls", [""])[0].lower() == "none"
    implicit = parts.scheme == "smtps"
    if implicit and plain:
        raise SmtpUrlInvalid("DEVICETRACK_SMTP_URL: smtps:// is TLS; tls=none contradicts it")
    try:
        port = parts.port or (465 if implicit else 587)
    except ValueError:
        raise SmtpUrlInvalid("DEVICETRACK_SMTP_URL: the port is not a number") from None
    starttls: bool | None = False if implicit or plain else (None if port == 25 else True)
    return SmtpServer(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls=starttls,
    )


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    content: bytes


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def as_email(letter: Letter, sender: str) -> EmailMessage:
    """Multipart text + HTML (in a multipart/mixed with the attachments, if any); headers in
    UTF-8 where they need it (Vietnamese subjects and file names)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = letter.to
    message["Subject"] = letter.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="devicetrack")
    # Mail from a program: auto-responders should not answer it (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(letter.text)
    message.add_alternative(letter.html, subtype="html")
    for file in letter.attachments:
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(
            file.content, maintype=maintype, subtype=subtype, filename=file.filename
        )
    return message


class Refused(Exception):
    """The server refused the message for good (a 5xx answer): trying again is useless."""


class NotSent(Exception):
    """The message could not be handed over now (no connection, a 4xx answer, a timeout):
    worth another try later."""


async def send(server: SmtpServer, message: EmailMessage) -> None:
    try:
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            start_tls=server.starttls,
            timeout=TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        error = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        raise (Refused if all(c >= 500 for c in codes) else NotSent)(error) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise (Refused if exc.code >= 500 else NotSent)(f"{exc.code} {exc.message}") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise NotSent(str(exc) or type(exc).__name__) from exc

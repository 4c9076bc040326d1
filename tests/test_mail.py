"""Email: composed in the caller's transaction, rendered in the reader's language, sent by
the job runner over SMTP (a real aiosmtpd server here) or put in the outbox, retried when
the server says "later", and every message recorded."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.config import Settings
from devicetrack.db.engine import cli_session
from devicetrack.i18n.catalogues import read
from devicetrack.mail import service as mail
from devicetrack.mail.smtp import SmtpUrlInvalid, parse_smtp_url
from devicetrack.mail.templates import TEMPLATES
from tests.factories import Factory, assert_problem
from tests.job_helpers import Inbox, parts, run_jobs
from tests.web_helpers import browser

RESET_CONTEXT = {"full_name": "Lò Thị Mai", "link": "http://x/reset?t=1", "valid_minutes": 60}


async def _compose(url: str, to: str, locale: str = "vi") -> int:
    async with cli_session(url) as session:
        message_id = await mail.compose(
            session, to=to, template="password_reset", context=RESET_CONTEXT, locale=locale
        )
    assert message_id is not None
    return message_id


async def test_without_smtp_mail_goes_to_the_outbox_and_the_log(
    settings: Settings,
    db: asyncpg.Pool,
    factory: Factory,
    web: AsyncTestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    message_id = await _compose(settings.database_url or "", "mai@school.vn")
    row = await db.fetchrow("SELECT * FROM mail_messages WHERE id = $1", message_id)
    assert row["status"] == "queued" and row["context"] is not None
    with caplog.at_level("INFO", logger="devicetrack.mail"):
        await run_jobs(settings)
    row = await db.fetchrow("SELECT * FROM mail_messages WHERE id = $1", message_id)
    assert (row["status"], row["transport"], row["attempts"]) == ("sent", "outbox", 1)
    assert row["sent_at"] is not None and row["context"] is None
    assert row["subject"] == "Đặt lại mật khẩu devicetrack"
    assert "Xin chào Lò Thị Mai," in row["text_body"] and "http://x/reset?t=1" in row["text_body"]
    assert '<a href="http://x/reset?t=1"' in row["html_body"]
    assert "http://x/reset?t=1" in caplog.text and "mai@school.vn" in caplog.text

    admin = await factory.admin()
    page = await web.get("/admin/outbox", headers=browser(admin))
    assert page.status_code == 200, page.text
    assert "Đặt lại mật khẩu devicetrack" in page.text and "mai@school.vn" in page.text
    staff = await factory.staff(await factory.school())
    refused = await web.get("/admin/outbox", headers=browser(staff))
    assert refused.status_code == 403


async def test_smtp_sends_multipart_text_and_html_in_the_readers_language(
    settings: Settings, db: asyncpg.Pool, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    vi = await _compose(settings.database_url or "", "mai@school.vn", "vi")
    en = await _compose(settings.database_url or "", "anna@donor.org", "en")
    await run_jobs(settings, smtp_url=url, mail_from="devicetrack <dt@province.vn>")

    [mai] = inbox.to("mai@school.vn")
    assert mai["Subject"] == "Đặt lại mật khẩu devicetrack"
    assert mai["From"] == "devicetrack <dt@province.vn>"
    assert mai.get_content_type() == "multipart/alternative"
    text, html = parts(mai)
    assert "Xin chào Lò Thị Mai," in text and "http://x/reset?t=1" in text
    assert "<p>Xin chào Lò Thị Mai,</p>" in html
    [anna] = inbox.to("anna@donor.org")
    assert anna["Subject"] == "Reset your devicetrack password"
    assert "Hello Lò Thị Mai," in parts(anna)[0]

    rows = await db.fetch("SELECT * FROM mail_messages WHERE id = ANY($1) ORDER BY id", [vi, en])
    assert [(r["status"], r["transport"]) for r in rows] == [("sent", "smtp")] * 2
    # Once sent, nothing of the message's text (a one-time link) is kept.
    assert all(r["context"] is None and r["text_body"] is None for r in rows)


async def test_a_send_the_server_defers_is_retried_then_recorded_as_failed(
    settings: Settings,
    db: asyncpg.Pool,
    smtp: tuple[Inbox, str],
    client: AsyncTestClient,
    factory: Factory,
) -> None:
    inbox, url = smtp
    inbox.refuse = "451 4.3.0 Mailbox busy, try again later"
    message_id = await _compose(settings.database_url or "", "mai@school.vn")
    # Three tries in all, the waits made zero for the test.
    await run_jobs(settings, smtp_url=url, mail_max_attempts=3, mail_retry_seconds=0)

    assert inbox.refused == 3 and inbox.messages == []
    row = await db.fetchrow("SELECT * FROM mail_messages WHERE id = $1", message_id)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert row["last_error"].startswith("451") and row["context"] is None
    job = await db.fetchrow(
        "SELECT status, attempts FROM procrastinate_jobs WHERE task_name = 'mail.send'"
    )
    assert (job["status"], job["attempts"]) == ("failed", 3)

    # An admin lists the failures; nobody else reads the mail records.
    admin = await factory.admin()
    listed = await client.get("/api/v1/mail/messages?status=failed", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["id"], item["to"], item["template"], item["status"], item["attempts"]) == (
        message_id,
        "mai@school.vn",
        "password_reset",
        "failed",
        3,
    )
    assert "451" in item["last_error"] and "text" not in item
    officer = await factory.officer()
    assert_problem(await client.get("/api/v1/mail/messages", headers=officer.headers), 403)

    # The server is well again: a new message goes through; the failed one stays failed.
    inbox.refuse = None
    await _compose(settings.database_url or "", "mai@school.vn")
    await run_jobs(settings, smtp_url=url)
    assert len(inbox.messages) == 1
    assert await db.fetchval("SELECT status FROM mail_messages WHERE id = $1", message_id) == (
        "failed"
    )


async def test_a_refusal_for_good_is_not_retried(
    settings: Settings, db: asyncpg.Pool, smtp: tuple[Inbox, str]
) -> None:
    inbox, url = smtp
    inbox.refuse = "550 5.1.1 No such user"
    message_id = await _compose(settings.database_url or "", "nobody@school.vn")
    await run_jobs(settings, smtp_url=url, mail_max_attempts=5, mail_retry_seconds=0)
    assert inbox.refused == 1
    row = await db.fetchrow(
        "SELECT status, attempts, last_error FROM mail_messages WHERE id = $1", message_id
    )
    assert (row["status"], row["attempts"]) == ("failed", 1) and row["last_error"].startswith("550")


async def test_mail_composed_in_a_rolled_back_transaction_is_never_sent(
    settings: Settings, db: asyncpg.Pool
) -> None:
    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with cli_session(settings.database_url or "") as session:
            await mail.compose(
                session,
                to="mai@school.vn",
                template="password_reset",
                context=RESET_CONTEXT,
                locale="vi",
            )
            raise Undo
    assert await db.fetchval("SELECT count(*) FROM mail_messages") == 0
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs") == 0


async def test_a_template_takes_exactly_its_declared_values(settings: Settings) -> None:
    """Nothing beyond what a template declares (a student's name, say) can be put in a
    message, and an address without a mailbox gets nothing."""
    async with cli_session(settings.database_url or "") as session:
        with pytest.raises(ValueError, match="takes"):
            await mail.compose(
                session,
                to="a@b.vn",
                template="password_reset",
                context={**RESET_CONTEXT, "student_name": "Lò Văn A"},
                locale="vi",
            )
        assert (
            await mail.compose(
                session,
                to="lo.thi.mai.123@khong-email.invalid",
                template="password_reset",
                context=RESET_CONTEXT,
                locale="vi",
            )
            is None
        )
    # Only the overdue-loans digest names students, and only to the school's own staff
    # (tests/test_digests.py).
    assert [t.name for t in TEMPLATES.values() if t.names_students] == ["digest_loans"]


def test_every_string_of_every_email_has_its_vietnamese() -> None:
    templates = Path(mail.__file__).parent / "templates"
    call = re.compile(r"""_\(\s*(["'])(.+?)\1""")
    strings = {t.subject for t in TEMPLATES.values()}
    for path in templates.glob("*.*"):
        strings |= {m.group(2) for m in call.finditer(path.read_text(encoding="utf-8"))}
    assert len(strings) > 10
    vietnamese = {m.id for m in read("vi") if isinstance(m.id, str) and m.string}
    assert sorted(s for s in strings if s not in vietnamese) == []


def test_the_smtp_url() -> None:
    starttls = parse_smtp_url("smtp://user%40x:p%3Ass@mail.example.vn:587")
    assert (starttls.host, starttls.port, starttls.username, starttls.password) == (
        "mail.example.vn",
        587,
        "user@x",
        "p:ss",
    )
    assert (starttls.implicit_tls, starttls.starttls) == (False, True)
    assert "p:ss" not in repr(starttls)
    implicit = parse_smtp_url("smtps://u:p@mail.example.vn")
    assert (implicit.port, implicit.implicit_tls, implicit.starttls) == (465, True, False)
    assert parse_smtp_url("smtp://relay.local:25").starttls is None  # when offered
    plain = parse_smtp_url("smtp://127.0.0.1:2525?tls=none")
    assert (plain.port, plain.implicit_tls, plain.starttls) == (2525, False, False)
    for bad in ("http://x", "smtps://x?tls=none", "smtp://x:port", "smtp://"):
        with pytest.raises(SmtpUrlInvalid):
            parse_smtp_url(bad)

"""Digests by email: each periodic job composes its digest once per period (a second run
of the day sends nothing more), in each reader's language, with a link to the page that
acts on it, to the people whose scope it concerns; officers get the carrier's SIM list as
XLSX and donors their impact as a PDF without anyone's name; a user who turned a digest
off on the account page (or in the API) gets none. Sent through a real SMTP server."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage

import asyncpg
from litestar.testing import AsyncTestClient
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from devicetrack.common.clock import local_today
from devicetrack.config import Settings
from devicetrack.jobs.runtime import Runtime
from devicetrack.worker import PERIODIC, run_now
from tests.factories import Caller, Factory, assert_problem
from tests.job_helpers import Inbox, link_in, parts, run_jobs
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser, form

PUBLIC = "https://thietbi.dienbien.edu.vn"
STUDENT = "Zzyzx Quàng Thị Lan"


async def _run(settings: Settings, job: str, smtp_url: str) -> tuple[bool, bool]:
    """The job run twice (as a retry or an operator would), then the mail sent; whether
    each run did the period's work."""
    runtime = Runtime(settings=replace(settings, public_url=PUBLIC))
    first = await run_now(runtime, job)
    second = await run_now(runtime, job)
    await runtime.close()
    await run_jobs(settings, smtp_url=smtp_url)
    return first.done, second.done


async def _address(db: asyncpg.Pool, caller: Caller) -> str:
    return str(await db.fetchval("SELECT email FROM users WHERE id = $1", caller.user_id))


async def _mail_of(db: asyncpg.Pool, inbox: Inbox, caller: Caller) -> list[EmailMessage]:
    return inbox.to(await _address(db, caller))


def _attachments(message: EmailMessage) -> dict[str, bytes]:
    return {
        str(part.get_filename()): part.get_content()
        for part in message.iter_attachments()
        if part.get_filename()
    }


async def _sims(scene: Scene, *days_left: int) -> list[str]:
    today = local_today()
    return await scene.intake(
        *(
            {
                "kind": "sim",
                "iccid": f"898404000000000{i:04d}",
                "msisdn": f"09120000{i:02d}",
                "carrier": "viettel",
                "plan_expires_on": (today + timedelta(days=d)).isoformat(),
            }
            for i, d in enumerate(days_left)
        )
    )


async def test_the_sim_digest_is_mailed_once_a_day_grouped_in_the_readers_language(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    factory: Factory,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    scene = await make_scene(client, db, factory)
    await db.execute("UPDATE users SET locale = 'en' WHERE id = $1", scene.officer.user_id)
    # Days left: today, 5, 12 and 25 at school A; 20 in the province's store; 60 (past the
    # window) at school A.
    today_, five, twelve, twenty_five, stock, far = await _sims(scene, 0, 5, 12, 25, 20, 60)
    await scene.at_school([today_, five, twelve, twenty_five, far])

    assert await _run(settings, "digests.sims_expiring", url) == (True, False)

    # School A's teacher (Vietnamese): one email, in Vietnamese, her school's four SIMs in
    # their groups, a link to her school's SIMs, no attachment.
    [mail] = await _mail_of(db, inbox, scene.staff_a)
    assert mail["Subject"] == "Gói cước SIM hết hạn trong 30 ngày: 4"
    text, html = parts(mail)
    assert "Xin chào" in text and "Hết hạn hôm nay hoặc ngày mai: 1" in text
    assert "Hết hạn trong vòng 14 ngày: 1" in text
    groups = {
        days: html.split(f'data-group="{days}"', 1)[1].split("</table>", 1)[0]
        for days in (1, 7, 14, 30)
    }
    assert today_ in groups[1] and five in groups[7] and twelve in groups[14]
    assert twenty_five in groups[30] and stock not in html and far not in html
    assert link_in(text, f"/schools/{scene.school_a}").startswith(PUBLIC)
    assert link_in(text, "/account").startswith(PUBLIC)
    assert _attachments(mail) == {}

    # The officer (English): the province's five SIMs, the carrier's list attached.
    [mail] = await _mail_of(db, inbox, scene.officer)
    assert mail["Subject"] == "SIM data plans ending within 30 days: 5"
    text, _ = parts(mail)
    assert "Ending today or tomorrow: 1" in text and "Ending within 30 days: 2" in text
    assert link_in(text, "/province/sims").startswith(PUBLIC)
    sheet = _attachments(mail)["sims-to-top-up.xlsx"]
    rows = CalamineWorkbook.from_filelike(io.BytesIO(sheet)).get_sheet_by_index(0).to_python()
    assert rows[0][:2] == ["Asset tag", "Phone number"]
    assert [r[0] for r in rows[1:]] == [today_, five, twelve, stock, twenty_five]
    # The number as stored (+84…), kept as text by the writer's formula guard.
    assert rows[1][1].endswith("+84912000000") and rows[4][6] == "Province stock"

    # Nobody else has a SIM ending: school B's staff, the other province's officer, the
    # donor and the admin get nothing; and a second day's worth was not sent.
    for caller in (scene.staff_b, scene.officer_other, scene.donor, scene.admin):
        assert await _mail_of(db, inbox, caller) == []
    assert len(inbox.messages) == 2
    assert await run_now(Runtime(settings=settings), "digests.sims_expiring") is not None
    await run_jobs(settings, smtp_url=url)
    assert len(inbox.messages) == 2
    # Once sent over SMTP, the attachment is not kept.
    assert await db.fetchval("SELECT count(*) FROM mail_attachments") == 0


async def _late_loan(scene: Scene, db: asyncpg.Pool, days_late: int) -> str:
    [tablet] = await scene.tablets(1)
    await scene.at_school([tablet])
    student = await scene.consenting_student(full_name=STUDENT, class_name="5A")
    loan = await scene.lend(tablet, student, due_back_on=local_today().isoformat())
    # The loan was made weeks ago: its due date is moved back in the database, as time
    # would have (the API refuses a due date in the past).
    await db.execute(
        "UPDATE assignments SET due_back_on = current_date - $2::int,"
        " assigned_at = assigned_at - interval '60 days' WHERE id = $1",
        loan["id"],
        days_late,
    )
    return tablet


async def test_overdue_loans_go_weekly_to_the_schools_staff_with_the_students_names(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    factory: Factory,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    scene = await make_scene(client, db, factory)
    tablet = await _late_loan(scene, db, 3)

    assert await _run(settings, "digests.overdue_loans", url) == (True, False)

    [mail] = await _mail_of(db, inbox, scene.staff_a)
    assert mail["Subject"] == "Thiết bị cho mượn quá hạn trả: 1"
    text, html = parts(mail)
    assert tablet in text and STUDENT in text and "5A" in text and "trễ 3 ngày" in text
    assert STUDENT in html
    assert link_in(text, f"/schools/{scene.school_a}/loans?overdue=1").startswith(PUBLIC)
    # Officers and donors do not receive this digest; school B's staff have no late loan.
    for caller in (scene.officer, scene.staff_b, scene.donor, scene.admin):
        assert await _mail_of(db, inbox, caller) == []
    # The child's name reached the teacher: the access log says so.
    logged = await db.fetch(
        "SELECT user_id, route FROM student_access_log WHERE route LIKE 'MAIL%'"
    )
    assert [(r["user_id"], r["route"]) for r in logged] == [
        (scene.staff_a.user_id, "MAIL digest overdue_loans")
    ]


async def test_audits_due_go_monthly_to_staff_and_officers_of_schools_never_audited(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    factory: Factory,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    scene = await make_scene(client, db, factory)
    await scene.at_school(await scene.tablets(3))

    assert await _run(settings, "digests.audits_due", url) == (True, False)

    [mail] = await _mail_of(db, inbox, scene.staff_a)
    assert mail["Subject"] == "Trường cần kiểm kê: 1"
    text, _ = parts(mail)
    assert "chưa từng kiểm kê" in text
    assert link_in(text, f"/schools/{scene.school_a}/audits").startswith(PUBLIC)
    [mail] = await _mail_of(db, inbox, scene.officer)
    assert link_in(parts(mail)[0], "/province/audits").startswith(PUBLIC)
    for caller in (scene.staff_b, scene.officer_other, scene.donor, scene.admin):
        assert await _mail_of(db, inbox, caller) == []


async def test_the_donors_impact_digest_has_its_pdf_and_no_ones_name(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    factory: Factory,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    scene = await make_scene(client, db, factory)
    await _late_loan(scene, db, 1)
    await db.execute("UPDATE users SET locale = 'en' WHERE id = $1", scene.donor.user_id)

    assert await _run(settings, "digests.donor_impact", url) == (True, False)

    [mail] = await _mail_of(db, inbox, scene.donor)
    text, html = parts(mail)
    assert mail["Subject"].startswith("The impact of your donations, quarter ")
    assert "1 devices" in text and link_in(text, "/donor").startswith(PUBLIC)
    [(name, pdf)] = _attachments(mail).items()
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF")
    document = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Impact of your donations" in document and "schools reached" in document
    school_name = await db.fetchval("SELECT name FROM schools WHERE id = $1", scene.school_a)
    assert school_name in document
    # No student, no guardian, no other user is named anywhere in it (the donor's own
    # user is greeted by name).
    people = [
        STUDENT,
        "Zzyzx",
        "Phụ huynh",
        *(
            r["full_name"]
            for r in await db.fetch(
                "SELECT full_name FROM users WHERE id <> $1", scene.donor.user_id
            )
        ),
    ]
    for person in people:
        for where in (text, html, document):
            assert person not in where
    for caller in (scene.staff_a, scene.officer, scene.admin):
        assert await _mail_of(db, inbox, caller) == []


async def test_a_user_chooses_digests_on_the_account_page_and_in_the_api(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    web: AsyncTestClient,
    factory: Factory,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, url = smtp
    scene = await make_scene(client, db, factory)
    await scene.at_school(await scene.tablets(2))
    await scene.at_school(await scene.tablets(1, "B"), scene.school_b)

    # All on by default, only those of the caller's role.
    mine = await client.get(f"{API}/me/digests", headers=scene.staff_a.headers)
    assert mine.status_code == 200, mine.text
    assert mine.json()["receive"] == {
        "sims_expiring": True,
        "overdue_loans": True,
        "audits_due": True,
    }
    assert mine.json()["schedules"]["sims_expiring"] == "daily at 07:00 Vietnam time"
    donor = await client.get(f"{API}/me/digests", headers=scene.donor.headers)
    assert donor.json()["receive"] == {"donor_impact": True}
    refused = await client.patch(
        f"{API}/me/digests",
        headers=scene.staff_a.headers,
        json={"receive": {"donor_impact": True}},
    )
    assert assert_problem(refused, 422)["errors"][0]["field"] == "receive.donor_impact"

    # School A's teacher unticks the audits on her account page; the officer turns them
    # off in the API, then on again.
    page = await web.get("/account", headers=browser(scene.staff_a, "vi"))
    assert page.status_code == 200 and 'name="digest" value="audits_due" checked' in page.text
    saved = await web.post(
        "/account/digests",
        headers=browser(scene.staff_a),
        data=form(scene.staff_a, digest=["sims_expiring", "overdue_loans"]),
    )
    assert saved.status_code == 303, saved.text
    page = await web.get("/account", headers=browser(scene.staff_a))
    assert 'value="audits_due">' in page.text and 'value="sims_expiring" checked' in page.text
    for on in (False, True):
        changed = await client.patch(
            f"{API}/me/digests",
            headers=scene.officer.headers,
            json={"receive": {"audits_due": on}},
        )
        assert changed.status_code == 200 and changed.json()["receive"]["audits_due"] is on

    await _run(settings, "digests.audits_due", url)
    assert await _mail_of(db, inbox, scene.staff_a) == []  # turned off
    assert len(await _mail_of(db, inbox, scene.staff_b)) == 1
    assert len(await _mail_of(db, inbox, scene.officer)) == 1


def test_every_digest_is_a_periodic_job_at_seven_in_vietnam() -> None:
    jobs = {j.name: j.schedule for j in PERIODIC if j.name.startswith("digests.")}
    assert {n: s.utc_cron() for n, s in jobs.items()} == {
        "digests.sims_expiring": "0 0 * * *",  # 07:00 in Vietnam is midnight UTC
        "digests.overdue_loans": "0 0 * * 1",  # Mondays
        "digests.audits_due": "0 0 1 * *",
        "digests.donor_impact": "0 0 1 1,4,7,10 *",
    }


async def test_erasing_a_child_erases_the_digests_that_name_them(
    settings: Settings, db: asyncpg.Pool, client: AsyncTestClient, factory: Factory
) -> None:
    """Without SMTP the outbox keeps each email's text for admins; a digest naming a child
    must not outlive the child's erasure there, nor be sent after it."""
    scene = await make_scene(client, db, factory)
    await _late_loan(scene, db, 3)
    runtime = Runtime(settings=replace(settings, public_url=PUBLIC))
    await run_now(runtime, "digests.overdue_loans")
    await runtime.close()
    await run_jobs(settings)  # no SMTP: the outbox
    sent = await db.fetchrow("SELECT * FROM mail_messages WHERE template = 'digest_loans'")
    assert STUDENT in sent["text_body"] and sent["student_ids"] != []
    # A second digest, composed but not sent yet when the child is erased.
    await db.execute("DELETE FROM job_runs WHERE job = 'digests.overdue_loans'")
    runtime = Runtime(settings=replace(settings, public_url=PUBLIC))
    await run_now(runtime, "digests.overdue_loans")
    await runtime.close()

    [student_id] = sent["student_ids"]
    loan = await db.fetchval(
        "SELECT id FROM assignments WHERE student_id = $1 AND returned_at IS NULL", student_id
    )
    returned = await client.post(
        f"{API}/assignments/{loan}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": True},
    )
    assert returned.status_code == 200, returned.text
    erased = await client.delete(f"{API}/students/{student_id}", headers=scene.staff_a.headers)
    assert erased.status_code == 204, erased.text
    await run_jobs(settings)

    rows = await db.fetch(
        "SELECT status, context, text_body, html_body, student_ids FROM mail_messages"
        " WHERE template = 'digest_loans' ORDER BY id"
    )
    assert [r["status"] for r in rows] == ["sent", "failed"]  # the second was never sent
    for row in rows:
        assert (row["context"], row["text_body"], row["html_body"]) == (None, None, None)
        assert row["student_ids"] == []

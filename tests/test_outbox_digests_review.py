"""Review of the outbox's routes and the digests: a return whose holder is not a number is
refused (not closed for whoever has the device); a form posted to the plain route keeps no
Idempotency-Key answer (a replayed redirect would lose its address); the SIM digest lists
the plans still to top up however many lapsed ones the province has; the overdue-loans
digest counts every late loan and says the page has more; its text, naming children, is
not copied into the log in outbox mode."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.config import Settings
from devicetrack.digests import mailings
from devicetrack.jobs.runtime import Runtime
from devicetrack.reports import service as reports
from devicetrack.worker import run_now
from tests.factories import Factory
from tests.job_helpers import Inbox, parts, run_jobs
from tests.lifecycle_helpers import _SyncTransport, make_scene
from tests.test_digests import PUBLIC, STUDENT, _late_loan, _mail_of, _run, _sims
from tests.test_web_outbox import keyed, loans_of


async def test_a_return_whose_holder_is_not_a_number_is_refused(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    await scene.lend(tag, student)

    for holder in ("abc", "99999999999"):
        refused = await web.post(
            f"/devices/{tag}/return.json",
            data={"student_id": holder, "condition": "good"},
            headers=keyed(scene.staff_a, f"return-{holder}"),
        )
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["student_id"]
    [loan] = await loans_of(db, tag)
    assert loan["returned_at"] is None  # still lent: nothing was closed


async def test_the_plain_form_route_keeps_no_idempotency_answer(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    body = {"student_id": str(student), "condition": "good"}
    headers = keyed(scene.staff_a, "form-1")

    first = await web.post(f"/devices/{tag}/lend", data=body, headers=headers)
    assert first.status_code == 303 and first.headers["location"].startswith(f"/devices/{tag}")
    again = await web.post(f"/devices/{tag}/lend", data=body, headers=headers)
    # Not a replay of a redirect without its address: the form is judged again (lent).
    assert "idempotent-replayed" not in again.headers
    assert again.status_code in (409, 422) and len(await loans_of(db, tag)) == 1
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0


async def test_two_lends_of_one_device_at_once_and_a_key_of_another_user(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """Two phones lend one device to two students at the same moment, each with its own
    key: one loan, the other refused with the reason (never a 500, never two loans). Then
    another user sending the first one's key gets no replay of an answer that is not theirs."""
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    students = [await scene.consenting_student() for _ in range(2)]
    transport = _SyncTransport(web._transport)
    barrier = threading.Barrier(2)

    def lend(key: str, student: int) -> httpx.Response:
        with httpx.Client(transport=transport, base_url=str(web.base_url)) as http:
            barrier.wait()
            return http.post(
                f"/devices/{tag}/lend.json",
                data={"student_id": str(student), "condition": "good"},
                headers=keyed(scene.staff_a, key),
            )

    def both() -> list[httpx.Response]:
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(lend, ["phone-1", "phone-2"], students))

    answers = await asyncio.to_thread(both)
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert [r["returned_at"] for r in await loans_of(db, tag)] == [None]

    colleague = await factory.staff(scene.school_a)
    theirs = await web.post(
        f"/devices/{tag}/lend.json",
        data={"student_id": str(students[0]), "condition": "good"},
        headers=keyed(colleague, "phone-1"),
    )
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.status_code == 409 and len(await loans_of(db, tag)) == 1


async def test_the_sim_digest_lists_plans_to_top_up_past_many_lapsed_ones(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    factory: Factory,
    smtp: tuple[Inbox, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The report lists 2 SIMs one by one here (2,000 in production), soonest first.
    monkeypatch.setattr(reports, "SIM_LIST_LIMIT", 2)
    inbox, url = smtp
    scene = await make_scene(client, db, factory)
    *lapsed, soon = await _sims(scene, 3, 4, 5, 6)
    await scene.at_school([*lapsed, soon])
    await db.execute(
        "UPDATE devices SET plan_expires_on = current_date - 100 WHERE asset_tag = ANY($1)",
        lapsed,
    )

    assert await _run(settings, "digests.sims_expiring", url) == (True, False)

    [mail] = await _mail_of(db, inbox, scene.staff_a)
    assert mail["Subject"] == "Gói cước SIM hết hạn trong 30 ngày: 1"
    text, _ = parts(mail)
    assert soon in text and not any(tag in text for tag in lapsed)
    [mail] = await _mail_of(db, inbox, scene.officer)
    assert soon in parts(mail)[0]


async def test_the_overdue_digest_counts_every_late_loan_and_says_there_are_more(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    factory: Factory,
    smtp: tuple[Inbox, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mailings, "LISTED", 1)  # 50 in production
    inbox, url = smtp
    scene = await make_scene(client, db, factory)
    await db.execute("UPDATE users SET locale = 'en' WHERE id = $1", scene.staff_a.user_id)
    first = await _late_loan(scene, db, 3)
    second = await _late_loan(scene, db, 9)

    assert await _run(settings, "digests.overdue_loans", url) == (True, False)

    [mail] = await _mail_of(db, inbox, scene.staff_a)
    assert mail["Subject"] == "Loans past their due date: 2"
    text, html = parts(mail)
    assert "2 devices lent to students are past their due date" in text
    assert "… and more on the page." in text and "… and more on the page." in html
    assert (first in text) != (second in text)  # one listed


async def test_a_digest_naming_students_is_not_copied_into_the_log(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scene = await make_scene(client, db, factory)
    await _late_loan(scene, db, 3)
    runtime = Runtime(settings=replace(settings, public_url=PUBLIC))
    assert (await run_now(runtime, "digests.overdue_loans")).done
    await runtime.close()

    with caplog.at_level(logging.INFO, logger="devicetrack.mail"):
        await run_jobs(settings, smtp_url=None)  # no SMTP server: the outbox

    kept = await db.fetchval("SELECT text_body FROM mail_messages WHERE template = 'digest_loans'")
    assert STUDENT in kept  # the outbox (admins) has it
    logged = [r.getMessage() for r in caplog.records if r.name == "devicetrack.mail"]
    assert any("digest_loans" in m or "Subject" in m for m in logged), logged
    assert not any(STUDENT in m for m in logged)

"""A refused form names the field by its label in the reader's language, never by the
form's own field name (`password_again`, `token`): found by a new user on the Vietnamese
password reset and account pages. Real HTTP, real PostgreSQL."""

from __future__ import annotations

import re

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.config import Settings
from tests.factories import Factory
from tests.job_helpers import link_in, run_jobs
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, csrf_in, form

PASSWORD = "a-brand-new-password-2"


def _columns(html: str) -> list[str]:
    """The "Column" cells of the page's table of errors."""
    table = html.split('<table class="errors">', 1)[1].split("</table>", 1)[0]
    return [row[1] for row in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>", table)]


async def test_reset_page_errors_name_the_fields_in_vietnamese(
    web: AsyncTestClient,
    factory: Factory,
    db: asyncpg.Pool,
    settings: Settings,
) -> None:
    staff = await factory.staff(await factory.school())
    email = await db.fetchval("SELECT email FROM users WHERE id = $1", staff.user_id)
    vi = {"Accept-Language": "vi"}
    ask = await web.get("/password-reset", headers=vi)
    sent = await web.post(
        "/password-reset", headers=vi, data={"_csrf": csrf_in(ask.text), "email": email}
    )
    assert sent.status_code == 200
    await run_jobs(settings)
    link = link_in(
        await db.fetchval("SELECT text_body FROM mail_messages ORDER BY id DESC LIMIT 1"),
        "/password-reset/confirm",
    )
    token = link.split("token=", 1)[1]
    choose = await web.get("/password-reset/confirm", params={"token": token}, headers=vi)
    differ = await web.post(
        "/password-reset/confirm",
        headers=vi,
        data={
            "_csrf": csrf_in(choose.text),
            "token": token,
            "password": PASSWORD,
            "password_again": PASSWORD + "x",
        },
    )
    assert differ.status_code == 422
    assert _columns(differ.text) == ["Nhập lại mật khẩu mới"]

    wrong = await web.post(
        "/password-reset/confirm",
        headers=vi,
        data={
            "_csrf": csrf_in(choose.text),
            "token": token + "x",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert wrong.status_code == 422
    assert _columns(wrong.text) == ["Đường dẫn"]


async def test_account_page_errors_name_the_fields_in_vietnamese(
    web: AsyncTestClient, factory: Factory
) -> None:
    me = await factory.staff(await factory.school())
    refused = await web.post(
        "/account/password",
        headers=browser(me, "vi"),
        data=form(
            me,
            current_password="wrong-one-at-least",
            new_password=PASSWORD,
            new_password_again=PASSWORD,
        ),
    )
    assert refused.status_code == 422
    assert _columns(refused.text) == ["Mật khẩu hiện tại"]


async def test_enrolment_errors_do_not_name_the_api_field(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    refused = await web.post(
        f"/admin/enrolments/{scene.school_a}",
        headers=browser(scene.officer, "vi"),
        data=form(
            scene.officer,
            school_year="2025-2026",
            students_total="300",
            priority_students="500",
        ),
    )
    assert refused.status_code == 422
    assert _columns(refused.text) == ["Học sinh diện ưu tiên"]
    assert "lớn hơn tổng số học sinh" in refused.text
    errors = refused.text.split('<table class="errors">', 1)[1].split("</table>", 1)[0]
    assert "students_total" not in errors


async def test_the_account_page_keeps_its_digests_after_a_refusal_and_has_none_without_email(
    web: AsyncTestClient, factory: Factory, db: asyncpg.Pool
) -> None:
    me = await factory.staff(await factory.school())
    assert "data-digests" in (await web.get("/account", headers=browser(me, "vi"))).text
    refused = await web.post(
        "/account/password",
        headers=browser(me, "vi"),
        data=form(
            me,
            current_password="wrong-one-at-least",
            new_password=PASSWORD,
            new_password_again=PASSWORD,
        ),
    )
    assert refused.status_code == 422 and "data-digests" in refused.text

    # Staff invited on paper sign in with a name that is no mailbox: no digest reaches them.
    await db.execute(
        "UPDATE users SET email = 'lo.thi.mai.482@khong-email.invalid' WHERE id = $1", me.user_id
    )
    page = await web.get("/account", headers=browser(me, "vi"))
    assert page.status_code == 200 and "data-digests" not in page.text

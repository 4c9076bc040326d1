"""Accounts without an admin at a terminal: a password reset by email, invitations (one,
or imported from a sheet; mailed, or printed for staff without email), and each user's
own password and language. Real PostgreSQL, a real SMTP server (aiosmtpd), the job runner
as `devicetrack worker` runs it."""

from __future__ import annotations

import asyncio
import io
import re
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from openpyxl import Workbook
from pypdf import PdfReader

from devicetrack.config import Settings
from tests.factories import DIEN_BIEN, LAI_CHAU, Factory, assert_problem
from tests.job_helpers import Inbox, link_in, parts, run_jobs
from tests.test_labels import _decode_pdf, needs_pdftoppm, needs_zbar
from tests.web_helpers import browser, csrf_in, form

API = "/api/v1"
OLD_PASSWORD = "the-old-password-1"
NEW_PASSWORD = "a-brand-new-password-2"


async def _sign_in(client: AsyncTestClient, email: str, password: str) -> int:
    response = await client.post(f"{API}/auth/token", json={"email": email, "password": password})
    return response.status_code


async def _user_with_password(client: AsyncTestClient, factory: Factory, email: str) -> dict:
    admin = await factory.admin()
    school = await factory.school()
    created = await client.post(
        f"{API}/users",
        headers=admin.headers,
        json={
            "email": email,
            "full_name": "Lò Thị Mai",
            "password": OLD_PASSWORD,
            "role": "school_staff",
            "school_ids": [school],
        },
    )
    assert created.status_code == 201, created.text
    key = await client.post(
        f"{API}/api-keys",
        headers=admin.headers,
        json={"name": "her integration", "user_id": created.json()["id"]},
    )
    return {"user": created.json(), "key": key.json()["key"]}


async def test_a_password_reset_by_email_end_to_end(
    client: AsyncTestClient,
    factory: Factory,
    db: asyncpg.Pool,
    settings: Settings,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, smtp_url = smtp
    email = "mai@thcs-muongphang.edu.vn"
    made = await _user_with_password(client, factory, email)
    old_token = (
        await client.post(f"{API}/auth/token", json={"email": email, "password": OLD_PASSWORD})
    ).json()["access_token"]
    assert (await client.get(f"{API}/me", headers={"X-API-Key": made["key"]})).status_code == 200

    # Asking answers 202 whether or not the address has an account.
    asked = await client.post(f"{API}/auth/password-reset", json={"email": email.upper()})
    assert asked.status_code == 202, asked.text
    unknown = await client.post(f"{API}/auth/password-reset", json={"email": "nobody@nowhere.vn"})
    assert unknown.status_code == 202 and unknown.content == asked.content
    # ... and does the same work either way: one job each, which looks the address up.
    assert (
        await db.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'accounts.reset_requested'"
        )
        == 2
    )
    await run_jobs(settings, smtp_url=smtp_url)

    assert inbox.to("nobody@nowhere.vn") == []
    assert await db.fetchval("SELECT count(*) FROM mail_messages") == 1
    [letter] = inbox.to(email)
    assert letter["Subject"] == "Đặt lại mật khẩu devicetrack"  # her language: Vietnamese
    text, html = parts(letter)
    link = link_in(text, "/password-reset/confirm")
    assert link in html
    token = parse_qs(urlsplit(link).query)["token"][0]
    # Only the link's digest is stored.
    assert (
        await db.fetchval("SELECT count(*) FROM password_resets WHERE token_hash = $1", token) == 0
    )

    confirmed = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204, confirmed.text

    # The old password, the old session and the API key all stop working ...
    assert await _sign_in(client, email, OLD_PASSWORD) == 401
    assert (
        await client.get(f"{API}/me", headers={"Authorization": f"Bearer {old_token}"})
    ).status_code == 401
    assert (await client.get(f"{API}/me", headers={"X-API-Key": made["key"]})).status_code == 401
    # ... the new one signs in, and the link works once.
    assert await _sign_in(client, email, NEW_PASSWORD) == 200
    again = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": "yet-another-one-3"}
    )
    body = assert_problem(again, 422)
    assert body["errors"] == [{"field": "token", "message": "wrong, used or expired"}]
    assert await _sign_in(client, email, NEW_PASSWORD) == 200

    # She is told her password changed.
    await run_jobs(settings, smtp_url=smtp_url)
    assert [m["Subject"] for m in inbox.to(email)][-1] == "Mật khẩu devicetrack của bạn đã được đổi"


async def test_an_expired_reset_link_does_nothing(
    client: AsyncTestClient, factory: Factory, db: asyncpg.Pool, settings: Settings
) -> None:
    email = "expired@school.vn"
    await _user_with_password(client, factory, email)
    assert (
        await client.post(f"{API}/auth/password-reset", json={"email": email})
    ).status_code == 202
    await run_jobs(settings)  # no SMTP: the outbox
    text = await db.fetchval("SELECT text_body FROM mail_messages")
    token = parse_qs(urlsplit(link_in(text, "/password-reset/confirm")).query)["token"][0]
    await db.execute("UPDATE password_resets SET expires_at = now() - interval '1 second'")
    refused = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert_problem(refused, 422)
    assert await _sign_in(client, email, OLD_PASSWORD) == 200


async def test_reset_requests_are_throttled_per_address_asked_about(
    client: AsyncTestClient, factory: Factory, db: asyncpg.Pool, settings: Settings
) -> None:
    email = "often@school.vn"
    await _user_with_password(client, factory, email)
    answers = [
        (await client.post(f"{API}/auth/password-reset", json={"email": email})).status_code
        for _ in range(4)
    ]
    assert answers == [202, 202, 202, 429]
    await run_jobs(settings)
    assert await db.fetchval("SELECT count(*) FROM mail_messages") == 3
    # An address without an account is throttled the same way: nothing tells them apart.
    unknown = [
        (
            await client.post(f"{API}/auth/password-reset", json={"email": "ghost@school.vn"})
        ).status_code
        for _ in range(4)
    ]
    assert unknown == [202, 202, 202, 429]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _school_code(db: asyncpg.Pool, school_id: int) -> str:
    return str(await db.fetchval("SELECT code FROM schools WHERE id = $1", school_id))


async def test_an_invitation_imported_from_xlsx_ends_in_a_signed_in_teacher(
    client: AsyncTestClient,
    factory: Factory,
    db: asyncpg.Pool,
    settings: Settings,
    smtp: tuple[Inbox, str],
) -> None:
    inbox, smtp_url = smtp
    officer = await factory.officer(DIEN_BIEN)
    school = await factory.school(DIEN_BIEN, name="Trường TH Mường Phăng")
    other = await factory.school(DIEN_BIEN)
    sheet = _xlsx(
        [
            ["Email", "Họ tên", "Vai trò", "Mã trường"],
            [
                "giang@thmuongphang.edu.vn",
                "Giàng Thị Dua",
                "giáo viên",
                await _school_code(db, school),
            ],
            [
                "ly@thmuongphang.edu.vn",
                "Lý Văn Páo",
                "school_staff",
                f"{await _school_code(db, school)}, {await _school_code(db, other)}",
            ],
        ]
    )
    imported = await client.post(
        f"{API}/users/import",
        headers=officer.headers,
        files={"file": ("giao-vien.xlsx", sheet, "application/octet-stream")},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["created"] == 2
    await run_jobs(settings, smtp_url=smtp_url)

    [letter] = inbox.to("giang@thmuongphang.edu.vn")
    assert letter["Subject"] == "Bạn được mời sử dụng devicetrack"
    text, _ = parts(letter)
    assert "với vai trò Cán bộ trường" in text
    link = link_in(text, "/invitations/accept")
    code = parse_qs(urlsplit(link).query)["code"][0]

    accepted = await client.post(
        f"{API}/auth/invitations/accept", json={"code": code, "password": NEW_PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    me = await client.get(
        f"{API}/me", headers={"Authorization": f"Bearer {accepted.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert (me.json()["email"], me.json()["role"], me.json()["school_ids"]) == (
        "giang@thmuongphang.edu.vn",
        "school_staff",
        [school],
    )
    assert await _sign_in(client, "giang@thmuongphang.edu.vn", NEW_PASSWORD) == 200
    # The code worked once.
    again = await client.post(
        f"{API}/auth/invitations/accept", json={"code": code, "password": NEW_PASSWORD}
    )
    assert_problem(again, 422)
    listed = await client.get(f"{API}/users/invitations?status=accepted", headers=officer.headers)
    assert [i["email"] for i in listed.json()["items"]] == ["giang@thmuongphang.edu.vn"]


async def test_an_import_with_a_bad_row_invites_nobody(
    client: AsyncTestClient, factory: Factory, db: asyncpg.Pool
) -> None:
    officer = await factory.officer(DIEN_BIEN)
    mine = await factory.school(DIEN_BIEN)
    theirs = await factory.school(LAI_CHAU)
    await factory.user("school_staff", email="taken@school.vn")
    csv = (
        "email,họ tên,vai trò,mã trường\n"
        f"a@school.vn,Người A,giáo viên,{await _school_code(db, mine)}\n"
        f"b@school.vn,Người B,giáo viên,{await _school_code(db, theirs)}\n"
        f"taken@school.vn,Người C,giáo viên,{await _school_code(db, mine)}\n"
        f"d@school.vn,Người D,nhà tài trợ,\n"
        f"a@school.vn,,thủ kho,\n"
    ).encode()
    refused = await client.post(
        f"{API}/users/import",
        headers=officer.headers,
        files={"file": ("staff.csv", csv, "text/csv")},
    )
    body = assert_problem(refused, 422)
    wrong = {(e["row"], e["field"]) for e in body["errors"]}
    assert wrong == {
        (3, "school_codes"),  # another province's school reads as no such school
        (4, "email"),
        (5, "role"),  # an officer does not invite donors
        (6, "email"),
        (6, "full_name"),
        (6, "role"),
    }, body["errors"]
    assert await db.fetchval("SELECT count(*) FROM invitations") == 0
    assert await db.fetchval("SELECT count(*) FROM mail_messages") == 0


async def test_invitations_naming_no_province_or_racing_answer_4xx_never_500(
    client: AsyncTestClient, factory: Factory, db: asyncpg.Pool
) -> None:
    """Found in review: an officer's province that does not exist was a foreign-key error
    (500), for one invitation and in an import; two imports of one email at once broke the
    unique index (500). Role and language words are read without their diacritics too, and
    a refused row reads in Vietnamese."""
    admin = await factory.admin()
    one = await client.post(
        f"{API}/users/invitations",
        headers=admin.headers,
        json={
            "email": "x@so.vn",
            "full_name": "Cán bộ X",
            "role": "province_officer",
            "province_code": "99",
        },
    )
    body = assert_problem(one, 422)
    assert body["errors"] == [{"field": "province_code", "message": "no such province"}]
    csv = "email,họ tên,vai trò,mã tỉnh\ny@so.vn,Cán bộ Y,can bo so,99\n".encode()
    imported = await client.post(
        f"{API}/users/import",
        headers=admin.headers | {"Accept-Language": "vi"},
        files={"file": ("officers.csv", csv, "text/csv")},
    )
    body = assert_problem(imported, 422)
    assert [(e["row"], e["field"], e["message"]) for e in body["errors"]] == [
        (2, "province_code", "không có tỉnh này")
    ]

    race = "email,họ tên,vai trò\nrace@x.vn,Người Đua,quan tri vien\n".encode()

    async def send() -> int:
        answer = await client.post(
            f"{API}/users/import",
            headers=admin.headers,
            files={"file": ("race.csv", race, "text/csv")},
        )
        return answer.status_code

    statuses = await asyncio.gather(*(send() for _ in range(3)))
    assert 201 in statuses and set(statuses) <= {201, 409, 422}, statuses
    assert await db.fetchval("SELECT count(*) FROM invitations WHERE email = 'race@x.vn'") == 1


@needs_pdftoppm
@needs_zbar
async def test_staff_without_email_are_invited_on_a_printed_sheet(
    client: AsyncTestClient, factory: Factory, db: asyncpg.Pool, web: AsyncTestClient
) -> None:
    officer = await factory.officer(DIEN_BIEN)
    school = await factory.school(DIEN_BIEN, name="Trường PTDTBT Sín Chải")
    invited = await client.post(
        f"{API}/users/invitations",
        headers=officer.headers,
        json={"full_name": "Sùng A Páo", "role": "school_staff", "school_ids": [school]},
    )
    assert invited.status_code == 201, invited.text
    invitation = invited.json()
    assert invitation["mailed"] is False
    assert re.fullmatch(r"sung\.a\.pao\.\d{3}@khong-email\.invalid", invitation["email"])
    assert await db.fetchval("SELECT count(*) FROM mail_messages") == 0

    sheet = await client.post(
        f"{API}/users/invitations/sheets", headers=officer.headers, json={"ids": [invitation["id"]]}
    )
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(sheet.content))
    assert len(reader.pages) == 1
    page_text = reader.pages[0].extract_text()
    assert "Sùng A Páo" in page_text and invitation["email"] in page_text
    assert "Trường PTDTBT Sín Chải" in page_text and "Cán bộ trường" in page_text
    printed = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", page_text)
    assert printed, page_text
    [qr] = _decode_pdf(sheet.content, dpi=150, symbology="QRCODE")
    assert qr.endswith(f"/invitations/accept?code={printed.group(0).replace('-', '')}")

    # The code typed from paper on the acceptance page (lower case, dashes kept).
    page = await web.get("/invitations/accept")
    assert page.status_code == 200
    accepted = await web.post(
        "/invitations/accept",
        data={
            "_csrf": csrf_in(page.text),
            "code": printed.group(0).lower(),
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )
    assert accepted.status_code == 303, accepted.text
    home = await web.get("/", cookies={"dt_session": accepted.cookies["dt_session"]})
    assert home.headers["location"] == f"/schools/{school}"
    assert await _sign_in(client, invitation["email"], NEW_PASSWORD) == 200


async def test_resend_replaces_the_code_and_revoke_ends_it(
    client: AsyncTestClient, factory: Factory, db: asyncpg.Pool, settings: Settings
) -> None:
    admin = await factory.admin()
    invited = await client.post(
        f"{API}/users/invitations",
        headers=admin.headers,
        json={
            "email": "officer@so-gd.vn",
            "full_name": "Quàng Văn Ơn",
            "role": "province_officer",
            "province_code": DIEN_BIEN,
            "locale": "en",
        },
    )
    assert invited.status_code == 201, invited.text
    invitation_id = invited.json()["id"]
    resent = await client.post(
        f"{API}/users/invitations/{invitation_id}/resend", headers=admin.headers
    )
    assert resent.status_code == 200, resent.text
    await run_jobs(settings)
    first, second = [
        parse_qs(urlsplit(link_in(t, "/invitations/accept")).query)["code"][0]
        for t in await db.fetchval("SELECT array_agg(text_body ORDER BY id) FROM mail_messages")
    ]
    assert await db.fetchval("SELECT subject FROM mail_messages LIMIT 1") == (
        "You are invited to devicetrack"
    )
    stale = await client.post(
        f"{API}/auth/invitations/accept", json={"code": first, "password": NEW_PASSWORD}
    )
    assert_problem(stale, 422)
    # A second invitation to the same address is refused while this one is open.
    assert_problem(
        await client.post(
            f"{API}/users/invitations",
            headers=admin.headers,
            json={"email": "officer@so-gd.vn", "full_name": "X", "role": "admin"},
        ),
        409,
    )
    revoked = await client.delete(f"{API}/users/invitations/{invitation_id}", headers=admin.headers)
    assert revoked.status_code == 204
    assert_problem(
        await client.post(
            f"{API}/auth/invitations/accept", json={"code": second, "password": NEW_PASSWORD}
        ),
        422,
    )
    got = await client.get(f"{API}/users/invitations/{invitation_id}", headers=admin.headers)
    assert got.json()["status"] == "revoked"


async def test_who_may_invite_whom(client: AsyncTestClient, factory: Factory) -> None:
    officer = await factory.officer(DIEN_BIEN)
    mine = await factory.school(DIEN_BIEN)
    theirs = await factory.school(LAI_CHAU)
    donor = await factory.donor()

    def invite(caller, **body):
        return client.post(
            f"{API}/users/invitations",
            headers=caller.headers,
            json={"full_name": "Người được mời", **body},
        )

    ok = await invite(officer, email="s@x.vn", role="school_staff", school_ids=[mine])
    assert ok.status_code == 201, ok.text
    assert ok.json()["province_code"] == DIEN_BIEN
    body = assert_problem(
        await invite(officer, email="t@x.vn", role="school_staff", school_ids=[theirs]), 422
    )
    assert body["errors"] == [{"field": "school_ids", "message": "no such school"}]
    assert_problem(await invite(officer, email="u@x.vn", role="donor", donor_id=donor), 403)
    assert_problem(await invite(officer, email="v@x.vn", role="admin"), 403)
    assert_problem(
        await invite(officer, email="w@x.vn", role="province_officer", province_code=LAI_CHAU),
        403,
    )
    colleague = await invite(
        officer, email="c@x.vn", role="province_officer", province_code=DIEN_BIEN
    )
    assert colleague.status_code == 201
    staff = await factory.staff(mine)
    donor_user = await factory.donor_user(donor)
    for caller in (staff, donor_user):
        assert_problem(
            await invite(caller, email="z@x.vn", role="school_staff", school_ids=[mine]), 403
        )
        assert_problem(await client.get(f"{API}/users/invitations", headers=caller.headers), 403)

    # Another province's officer neither sees nor manages these.
    neighbour = await factory.officer(LAI_CHAU)
    assert (await client.get(f"{API}/users/invitations", headers=neighbour.headers)).json()[
        "items"
    ] == []
    invitation_id = ok.json()["id"]
    for method, path in (
        ("GET", f"{API}/users/invitations/{invitation_id}"),
        ("POST", f"{API}/users/invitations/{invitation_id}/resend"),
        ("DELETE", f"{API}/users/invitations/{invitation_id}"),
    ):
        assert_problem(await client.request(method, path, headers=neighbour.headers), 404)
    assert_problem(
        await client.post(
            f"{API}/users/invitations/sheets",
            headers=neighbour.headers,
            json={"ids": [invitation_id]},
        ),
        404,
    )
    admin = await factory.admin()
    donor_invite = await invite(admin, email="d@x.vn", role="donor", donor_id=donor)
    assert donor_invite.status_code == 201, donor_invite.text


async def test_everyone_changes_their_own_password_and_language(
    client: AsyncTestClient, factory: Factory, db: asyncpg.Pool, settings: Settings
) -> None:
    email = "self@school.vn"
    made = await _user_with_password(client, factory, email)
    token = (
        await client.post(f"{API}/auth/token", json={"email": email, "password": OLD_PASSWORD})
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    wrong = await client.post(
        f"{API}/me/password",
        headers=headers,
        json={"current_password": "not-it", "new_password": NEW_PASSWORD},
    )
    assert assert_problem(wrong, 422)["errors"][0]["field"] == "current_password"
    # An API key acting for her cannot change it.
    assert_problem(
        await client.post(
            f"{API}/me/password",
            headers={"X-API-Key": made["key"]},
            json={"current_password": OLD_PASSWORD, "new_password": NEW_PASSWORD},
        ),
        403,
    )
    changed = await client.post(
        f"{API}/me/password",
        headers=headers,
        json={"current_password": OLD_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 401
    assert (await client.get(f"{API}/me", headers=fresh)).status_code == 200
    assert await _sign_in(client, email, NEW_PASSWORD) == 200

    english = await client.patch(f"{API}/me", headers=fresh, json={"locale": "en"})
    assert english.status_code == 200 and english.json()["locale"] == "en"
    assert (await client.get(f"{API}/me", headers=fresh)).json()["locale"] == "en"
    assert_problem(await client.patch(f"{API}/me", headers=fresh, json={"locale": "fr"}), 400)
    # The password-changed email goes out in the language she had then.
    await run_jobs(settings)
    assert await db.fetchval("SELECT subject FROM mail_messages") == (
        "Mật khẩu devicetrack của bạn đã được đổi"
    )


async def test_the_account_and_reset_pages(
    web: AsyncTestClient,
    factory: Factory,
    client: AsyncTestClient,
    db: asyncpg.Pool,
    settings: Settings,
) -> None:
    login = await web.get("/login")
    assert 'href="/password-reset"' in login.text
    email = "pages@school.vn"
    await _user_with_password(client, factory, email)

    ask = await web.get("/password-reset", headers={"Accept-Language": "vi"})
    assert "Quên mật khẩu?" in ask.text
    sent = await web.post("/password-reset", data={"_csrf": csrf_in(ask.text), "email": email})
    assert sent.status_code == 200 and "đang được gửi đến" in sent.text
    await run_jobs(settings)
    link = link_in(
        await db.fetchval("SELECT text_body FROM mail_messages"), "/password-reset/confirm"
    )
    path = link.split("://", 1)[1].split("/", 1)[1]
    choose = await web.get(f"/{path}")
    assert choose.status_code == 200
    differ = await web.post(
        "/password-reset/confirm",
        data={
            "_csrf": csrf_in(choose.text),
            "token": parse_qs(urlsplit(link).query)["token"][0],
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD + "x",
        },
    )
    assert differ.status_code == 422 and "hai mật khẩu không giống nhau" in differ.text
    done = await web.post(
        "/password-reset/confirm",
        data={
            "_csrf": csrf_in(choose.text),
            "token": parse_qs(urlsplit(link).query)["token"][0],
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )
    assert done.status_code == 200 and "Mật khẩu đã được đổi" in done.text
    assert await _sign_in(client, email, NEW_PASSWORD) == 200

    # The account page: her language, then her password.
    me = await factory.staff(await factory.school())
    page = await web.get("/account", headers=browser(me, "vi"))
    assert page.status_code == 200 and "Tài khoản của tôi" in page.text
    saved = await web.post(
        "/account/language", headers=browser(me, "vi"), data=form(me, locale="en")
    )
    assert saved.status_code == 303 and "dt_lang=en" in saved.headers["set-cookie"]
    assert await db.fetchval("SELECT locale FROM users WHERE id = $1", me.user_id) == "en"
    refused = await web.post(
        "/account/password",
        headers=browser(me),
        data=form(
            me,
            current_password="wrong-one",
            new_password=NEW_PASSWORD,
            new_password_again=NEW_PASSWORD,
        ),
    )
    assert refused.status_code == 422 and "The current password is wrong." in refused.text


@pytest.mark.parametrize("path", ["/account", "/admin/outbox"])
async def test_the_account_pages_need_sign_in(web: AsyncTestClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_a_deactivated_officers_open_invitations_end_with_their_power(
    client: AsyncTestClient, factory: Factory, db: asyncpg.Pool, settings: Settings
) -> None:
    admin = await factory.admin()
    officer = await factory.officer(DIEN_BIEN)
    school = await factory.school(DIEN_BIEN)
    invited = await client.post(
        f"{API}/users/invitations",
        headers=officer.headers,
        json={
            "email": "giang@th-muongphang.edu.vn",
            "full_name": "Giàng Thị Dua",
            "role": "school_staff",
            "school_ids": [school],
        },
    )
    assert invited.status_code == 201, invited.text
    await run_jobs(settings)
    text = await db.fetchval("SELECT text_body FROM mail_messages")
    code = parse_qs(urlsplit(link_in(text, "/invitations/accept")).query)["code"][0]

    off = await client.patch(
        f"{API}/users/{officer.user_id}", headers=admin.headers, json={"active": False}
    )
    assert off.status_code == 200, off.text
    got = await client.get(f"{API}/users/invitations/{invited.json()['id']}", headers=admin.headers)
    assert got.json()["status"] == "revoked"
    refused = await client.post(
        f"{API}/auth/invitations/accept", json={"code": code, "password": NEW_PASSWORD}
    )
    assert_problem(refused, 422)
    assert (
        await db.fetchval("SELECT count(*) FROM users WHERE email = 'giang@th-muongphang.edu.vn'")
        == 0
    )

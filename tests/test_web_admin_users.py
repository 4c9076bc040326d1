"""The administration pages for people, through the pages with their CSRF tokens: an
officer invites, deactivates, reactivates, moves and resets the staff of their province and
cannot touch another province's; an administrator changes roles and issues and revokes API
keys (the key shown once); invitations are sent again, printed and revoked."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import asyncpg
from litestar.testing import AsyncTestClient
from openpyxl import Workbook

from devicetrack.auth.secrets import hash_password
from tests.factories import DIEN_BIEN, LAI_CHAU, Factory
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser, form, pdf_text


async def _code(db: asyncpg.Pool, school_id: int) -> str:
    return str(await db.fetchval("SELECT code FROM schools WHERE id = $1", school_id))


async def _schools_of(db: asyncpg.Pool, user_id: int) -> list[int]:
    rows = await db.fetch(
        "SELECT school_id FROM user_schools WHERE user_id = $1 ORDER BY school_id", user_id
    )
    return [r["school_id"] for r in rows]


async def _post(web: AsyncTestClient, caller, url: str, **values):  # type: ignore[no-untyped-def]
    return await web.post(url, data=form(caller, **values), headers=browser(caller))


def _errors(html: str) -> list[tuple[str, str]]:
    """(field label, problem) of each row of the refusal a page shows."""
    table = html.split('<table class="errors">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr><td>[^<]*</td><td>(.*?)</td><td>(.*?)</td></tr>", table)


async def _signs_in(web: AsyncTestClient, email: str, password: str) -> bool:
    """Whether the sign-in page lets this email and password in."""
    web.cookies.clear()  # a fresh browser: the sign-in page sets its own CSRF cookie
    login = await web.get("/login")
    pre = login.cookies.get("dt_csrf")
    answer = await web.post(
        "/login",
        data={"_csrf": pre, "email": email, "password": password},
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    web.cookies.clear()
    assert answer.status_code in (303, 401), answer.text
    return answer.status_code == 303


async def test_an_officer_manages_the_staff_of_their_province_only(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    officer, staff_a, staff_c = scene.officer, scene.staff_a, scene.staff_c

    listed = await web.get("/admin/users", headers=browser(officer))
    assert listed.status_code == 200, listed.text
    shown = set(map(int, re.findall(r'href="/admin/users/(\d+)"', listed.text)))
    assert shown == {officer.user_id, staff_a.user_id, scene.staff_b.user_id}
    only_a = await web.get(
        f"/admin/users?school={await _code(db, scene.school_a)}", headers=browser(officer)
    )
    assert set(map(int, re.findall(r'href="/admin/users/(\d+)"', only_a.text))) == {staff_a.user_id}

    # Deactivated: the staff member's session ends at once; reactivated: they sign in again
    # (their old token stays revoked).
    off = await _post(web, officer, f"/admin/users/{staff_a.user_id}/active", active="0")
    assert off.status_code == 303, off.text
    assert off.headers["location"].startswith(f"/admin/users/{staff_a.user_id}?done=")
    assert await db.fetchval("SELECT active FROM users WHERE id = $1", staff_a.user_id) is False
    assert (await client.get(f"{API}/me", headers=staff_a.headers)).status_code == 401
    page = await web.get(off.headers["location"], headers=browser(officer))
    assert "Deactivated." in page.text and "Reactivate" in page.text
    on = await _post(web, officer, f"/admin/users/{staff_a.user_id}/active", active="1")
    assert on.status_code == 303
    assert await db.fetchval("SELECT active FROM users WHERE id = $1", staff_a.user_id) is True

    # Moved to the province's other school; not to another province's.
    code_b, code_c = await _code(db, scene.school_b), await _code(db, scene.school_c)
    moved = await _post(
        web,
        officer,
        f"/admin/users/{staff_a.user_id}/role",
        role="school_staff",
        school_codes=code_b,
    )
    assert moved.status_code == 303, moved.text
    assert await _schools_of(db, staff_a.user_id) == [scene.school_b]
    refused = await _post(
        web,
        officer,
        f"/admin/users/{staff_a.user_id}/role",
        role="school_staff",
        school_codes=f"{code_b}, {code_c}",
    )
    assert refused.status_code == 422
    assert f"no school {code_c}" in refused.text
    assert await _schools_of(db, staff_a.user_id) == [scene.school_b]
    admin_role = await _post(web, officer, f"/admin/users/{staff_a.user_id}/role", role="admin")
    assert admin_role.status_code == 403
    assert "You may not give this role or scope." in admin_role.text
    assert await db.fetchval("SELECT role FROM users WHERE id = $1", staff_a.user_id) == (
        "school_staff"
    )

    # A reset link by email, which really sets a new password.
    sent = await _post(web, officer, f"/admin/users/{staff_a.user_id}/password-reset")
    assert sent.status_code == 303, sent.text
    context = await db.fetchval(
        "SELECT context FROM mail_messages WHERE user_id = $1 AND template = 'password_reset'",
        staff_a.user_id,
    )
    link = json.loads(context)["link"]
    token = parse_qs(urlsplit(link).query)["token"][0]
    choose = await web.get(f"/password-reset/confirm?token={token}")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', choose.text)
    assert csrf is not None
    confirmed = await web.post(
        "/password-reset/confirm",
        data={
            "_csrf": csrf.group(1),
            "token": token,
            "password": "mật-khẩu-mới-2026",
            "password_again": "mật-khẩu-mới-2026",
        },
    )
    assert confirmed.status_code == 200 and "dt_session" not in confirmed.headers.get(
        "set-cookie", ""
    )
    email = await db.fetchval("SELECT email FROM users WHERE id = $1", staff_a.user_id)
    signed_in = await client.post(
        f"{API}/auth/token", json={"email": email, "password": "mật-khẩu-mới-2026"}
    )
    assert signed_in.status_code == 200, signed_in.text

    # Another province's staff member: not found, whatever is tried, and nothing changes.
    before = await db.fetchrow("SELECT * FROM users WHERE id = $1", staff_c.user_id)
    assert (
        await web.get(f"/admin/users/{staff_c.user_id}", headers=browser(officer))
    ).status_code == 404
    for url, values in (
        (f"/admin/users/{staff_c.user_id}/active", {"active": "0"}),
        (f"/admin/users/{staff_c.user_id}/role", {"role": "school_staff", "school_codes": code_b}),
        (f"/admin/users/{staff_c.user_id}", {"full_name": "Đổi tên"}),
        (f"/admin/users/{staff_c.user_id}/password-reset", {}),
    ):
        response = await _post(web, officer, url, **values)
        assert response.status_code == 404, (url, response.status_code)
        assert "<h1>Not found</h1>" in response.text
    assert await db.fetchrow("SELECT * FROM users WHERE id = $1", staff_c.user_id) == before
    assert await _schools_of(db, staff_c.user_id) == [scene.school_c]
    assert not await db.fetchval(
        "SELECT count(*) FROM mail_messages WHERE user_id = $1", staff_c.user_id
    )
    # Their own access is not theirs to change.
    self_off = await _post(web, officer, f"/admin/users/{officer.user_id}/active", active="0")
    assert self_off.status_code == 403
    assert await db.fetchval("SELECT active FROM users WHERE id = $1", officer.user_id) is True


async def test_an_officer_invites_within_their_province(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    officer = scene.officer
    code_a, code_c = await _code(db, scene.school_a), await _code(db, scene.school_c)

    invited = await _post(
        web,
        officer,
        "/admin/users/invitations",
        full_name="Giàng Thị Dua",
        email="Giang@THMuongPhang.edu.vn",
        role="school_staff",
        school_codes=code_a,
        province_code=DIEN_BIEN,
        locale="vi",
    )
    assert invited.status_code == 303, invited.text
    row = await db.fetchrow("SELECT * FROM invitations WHERE email = 'giang@thmuongphang.edu.vn'")
    assert row["school_ids"] == [scene.school_a] and row["role"] == "school_staff"
    assert row["created_by"] == officer.user_id
    assert await db.fetchval(
        "SELECT count(*) FROM mail_messages WHERE to_address = $1 AND template = 'invitation'",
        "giang@thmuongphang.edu.vn",
    )
    page = await web.get("/admin/users", headers=browser(officer))
    assert "Giàng Thị Dua" in page.text and "Send again" in page.text

    elsewhere = await _post(
        web,
        officer,
        "/admin/users/invitations",
        full_name="Lò Văn Xa",
        email="xa@school.vn",
        role="school_staff",
        school_codes=code_c,
    )
    assert elsewhere.status_code == 422
    assert f"no school {code_c}" in elsewhere.text and 'value="Lò Văn Xa"' in elsewhere.text
    officer_there = await _post(
        web,
        officer,
        "/admin/users/invitations",
        full_name="Cán bộ Lai Châu",
        email="cb@laichau.gov.vn",
        role="province_officer",
        province_code=LAI_CHAU,
    )
    assert officer_there.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM invitations") == 1

    # Resend gives a new code; revoke ends it; another province's officer finds neither.
    invitation = row["id"]
    for url in (
        f"/admin/users/invitations/{invitation}/resend",
        f"/admin/users/invitations/{invitation}/revoke",
    ):
        assert (await _post(web, scene.officer_other, url)).status_code == 404
    assert await db.fetchval("SELECT revoked_at FROM invitations WHERE id = $1", invitation) is None
    again = await _post(web, officer, f"/admin/users/invitations/{invitation}/resend")
    assert again.status_code == 303
    assert (
        await db.fetchval("SELECT code_hash FROM invitations WHERE id = $1", invitation)
        != (row["code_hash"])
    )
    revoked = await _post(web, officer, f"/admin/users/invitations/{invitation}/revoke")
    assert revoked.status_code == 303
    assert await db.fetchval("SELECT revoked_at FROM invitations WHERE id = $1", invitation)


async def test_invitations_from_a_sheet_and_printed_for_staff_without_email(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Thư điện tử", "Họ tên", "Vai trò", "Mã trường"])
    sheet.append(["", "Sùng A Páo", "giáo viên", await _code(db, scene.school_a)])
    sheet.append(["mai@school.vn", "Lò Thị Mai", "cán bộ trường", await _code(db, scene.school_b)])
    out = io.BytesIO()
    book.save(out)
    imported = await web.post(
        "/admin/users/invitations/import",
        data={"_csrf": form(scene.officer)["_csrf"]},
        files={"file": ("moi.xlsx", out.getvalue(), "application/octet-stream")},
        headers=browser(scene.officer),
    )
    assert imported.status_code == 303, imported.text
    assert "n=2" in imported.headers["location"]
    done = await web.get(imported.headers["location"], headers=browser(scene.officer))
    assert "2 invitations created." in done.text
    unmailed = await db.fetchrow("SELECT * FROM invitations WHERE full_name = 'Sùng A Páo'")
    printed = await _post(web, scene.officer, f"/admin/users/invitations/{unmailed['id']}/sheet")
    assert printed.status_code == 200, printed.text
    assert printed.headers["content-type"] == "application/pdf"
    text = pdf_text(printed.content)
    assert "Sùng A Páo" in text and unmailed["email"] in text

    # One wrong row (a school of another province): nobody is invited.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Thư điện tử", "Họ tên", "Vai trò", "Mã trường"])
    sheet.append(["x@school.vn", "X", "giáo viên", await _code(db, scene.school_c)])
    out = io.BytesIO()
    book.save(out)
    refused = await web.post(
        "/admin/users/invitations/import",
        data={"_csrf": form(scene.officer)["_csrf"]},
        files={"file": ("moi.xlsx", out.getvalue(), "application/octet-stream")},
        headers=browser(scene.officer),
    )
    assert refused.status_code == 422
    assert "1 row is wrong; nobody was invited." in refused.text
    assert await db.fetchval("SELECT count(*) FROM invitations") == 2


async def test_an_administrator_changes_roles_and_issues_api_keys(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene: Scene = await make_scene(client, db, factory)
    admin, staff_c = scene.admin, scene.staff_c

    promoted = await _post(
        web,
        admin,
        f"/admin/users/{staff_c.user_id}/role",
        role="province_officer",
        province_code=LAI_CHAU,
        school_codes=await _code(db, scene.school_c),
    )
    assert promoted.status_code == 303, promoted.text
    row = await db.fetchrow("SELECT role, province_code FROM users WHERE id = $1", staff_c.user_id)
    assert (row["role"], row["province_code"]) == ("province_officer", LAI_CHAU)
    assert await _schools_of(db, staff_c.user_id) == []
    me = await client.get(f"{API}/me", headers=staff_c.headers)
    assert me.json()["role"] == "province_officer"

    issued = await _post(
        web, admin, f"/admin/users/{staff_c.user_id}/api-keys", name="Hệ thống SMAS"
    )
    assert issued.status_code == 200, issued.text
    key = re.search(r"dtk_[A-Za-z0-9_-]+", issued.text)
    assert key is not None and "shown this once" in issued.text
    assert issued.headers["cache-control"] == "no-store"
    used = await client.get(f"{API}/me", headers={"X-API-Key": key.group(0)})
    assert used.status_code == 200 and used.json()["id"] == staff_c.user_id

    keys = await web.get("/admin/api-keys", headers=browser(admin))
    assert keys.status_code == 200
    assert "Hệ thống SMAS" in keys.text and key.group(0) not in keys.text
    email = await db.fetchval("SELECT email FROM users WHERE id = $1", staff_c.user_id)
    assert email in keys.text and "Never" not in keys.text  # used once: its time is shown
    user_page = await web.get(f"/admin/users/{staff_c.user_id}", headers=browser(admin))
    assert "Hệ thống SMAS" in user_page.text and key.group(0) not in user_page.text

    key_id = await db.fetchval("SELECT id FROM api_keys WHERE name = 'Hệ thống SMAS'")
    assert (await _post(web, scene.officer, f"/admin/api-keys/{key_id}/revoke")).status_code == 403
    officer_key = await _post(
        web, scene.officer, f"/admin/users/{scene.staff_a.user_id}/api-keys", name="x"
    )
    assert officer_key.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM api_keys") == 1
    revoked = await _post(
        web, admin, f"/admin/api-keys/{key_id}/revoke", user_id=str(staff_c.user_id)
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"].startswith(f"/admin/users/{staff_c.user_id}?done=")
    assert (await client.get(f"{API}/me", headers={"X-API-Key": key.group(0)})).status_code == 401


async def test_an_administrator_sets_a_temporary_password_for_staff_without_email(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    admin = scene.admin
    old, new = "mật khẩu cũ 123", "tạm thời 2025"
    email = "lo.thi.lan@ban-muong.invalid"  # a sign-in name: no mailbox behind it
    lan = await factory.user(
        "school_staff", schools=[scene.school_a], email=email, password_hash=hash_password(old)
    )
    url = f"/admin/users/{lan.user_id}"
    # No reset link can reach her: an administrator sets a password instead.
    no_link = await _post(web, admin, f"{url}/password-reset")
    assert no_link.status_code == 409 and "no email address" in no_link.text
    shown = await web.get(url, headers=browser(admin))
    assert "Set a temporary password" in shown.text
    assert f'action="{url}/password"' in shown.text and 'minlength="10"' in shown.text

    # Refused with the API's rule (NewPassword), each in the reader's language, naming the
    # field; nothing changes.
    short = await web.post(
        f"{url}/password",
        data=form(admin, password="ngắn", password_again="ngắn"),
        headers=browser(admin, "vi"),
    )
    assert short.status_code == 422, short.text
    assert _errors(short.text) == [("Mật khẩu", "ít nhất 10 ký tự")]
    differ = await _post(web, admin, f"{url}/password", password=new, password_again=new + "x")
    assert differ.status_code == 422
    assert _errors(differ.text) == [("The new password again", "the two passwords differ")]
    assert new not in differ.text  # a password is never written back into the page
    empty = await _post(web, admin, f"{url}/password", password="", password_again="")
    assert empty.status_code == 422
    assert ("Password", "required") in _errors(empty.text)
    assert (await client.get(f"{API}/me", headers=lan.headers)).status_code == 200
    assert await _signs_in(web, email, old)

    # Set: her sessions end, the new password lets her in and the old one no longer does.
    done = await _post(web, admin, f"{url}/password", password=new, password_again=new)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(f"{url}?done=")
    result = await web.get(done.headers["location"], headers=browser(admin, "vi"))
    assert "Đã đặt mật khẩu tạm thời." in result.text
    assert (await client.get(f"{API}/me", headers=lan.headers)).status_code == 401
    assert await _signs_in(web, email, new)
    assert not await _signs_in(web, email, old)

    # A province officer manages her but does not set passwords: no form, and refused.
    officer_view = await web.get(url, headers=browser(scene.officer))
    assert officer_view.status_code == 200
    assert "Set a temporary password" not in officer_view.text
    by_officer = await _post(
        web,
        scene.officer,
        f"{url}/password",
        password="cán bộ đặt 123",
        password_again="cán bộ đặt 123",
    )
    assert by_officer.status_code == 403, by_officer.text
    # School staff, a donor, another province's officer: not even the page.
    for caller in (scene.staff_a, scene.donor, scene.officer_other):
        assert (await web.get(url, headers=browser(caller))).status_code in (403, 404)
        refused = await _post(
            web, caller, f"{url}/password", password="kẻ lạ đặt 123", password_again="kẻ lạ đặt 123"
        )
        assert refused.status_code in (403, 404), refused.text
    assert await _signs_in(web, email, new)
    # An administrator's own password is changed on their account page, not here.
    mine = await web.get(f"/admin/users/{admin.user_id}", headers=browser(admin))
    assert "Set a temporary password" not in mine.text

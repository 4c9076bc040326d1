"""Signing in through the pages: the session cookie and its flags, sign-out, CSRF on
every form, sending a signed-out visitor back after sign-in, and the language switch."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.auth.secrets import hash_password
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, csrf_in, form


async def test_sign_in_sets_a_protected_cookie_and_sign_out_ends_the_session(
    client: AsyncTestClient, web: AsyncTestClient, factory: Factory
) -> None:
    school = await factory.school(DIEN_BIEN)
    await factory.user(
        "school_staff",
        schools=[school],
        email="co.lan@test.vn",
        password_hash=hash_password("mật khẩu 123"),
    )
    login_page = await web.get("/login")
    assert login_page.status_code == 200
    assert "Đăng nhập" in login_page.text  # Vietnamese unless the reader chose English
    pre = login_page.cookies.get("dt_csrf")
    assert pre and csrf_in(login_page.text) == pre

    refused = await web.post(
        "/login",
        data={"_csrf": pre, "email": "co.lan@test.vn", "password": "sai"},
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    assert refused.status_code == 401
    assert "Email hoặc mật khẩu không đúng" in refused.text
    assert "dt_session" not in refused.headers.get("set-cookie", "")

    no_token = await web.post(
        "/login",
        data={"email": "co.lan@test.vn", "password": "mật khẩu 123"},
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    assert no_token.status_code == 403

    signed_in = await web.post(
        "/login",
        data={
            "_csrf": pre,
            "email": "co.lan@test.vn",
            "password": "mật khẩu 123",
            "next": "//evil.example/x",
        },
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/"  # not the foreign `next`
    cookies = signed_in.headers.get_list("set-cookie")
    cookie = next(c for c in cookies if c.startswith("dt_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain HTTP (a school intranet) still works
    token = cookie.split(";")[0].split("=", 1)[1]

    start = await web.get("/", headers={"Cookie": f"dt_session={token}"})
    assert start.headers["location"] == f"/schools/{school}"
    home = await web.get(f"/schools/{school}", headers={"Cookie": f"dt_session={token}"})
    assert home.status_code == 200
    out = await web.post(
        "/logout", data={"_csrf": csrf_in(home.text)}, headers={"Cookie": f"dt_session={token}"}
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    after = await web.get(f"/schools/{school}", headers={"Cookie": f"dt_session={token}"})
    assert after.status_code == 303 and after.headers["location"].startswith("/login?next=")


async def test_cookies_are_secure_over_https(web: AsyncTestClient, factory: Factory) -> None:
    await factory.user("admin", email="admin@test.vn", password_hash=hash_password("pw-12345678"))
    page = await web.get("https://testserver.local/login")
    pre = page.cookies.get("dt_csrf")
    assert "Secure" in page.headers["set-cookie"]
    signed_in = await web.post(
        "https://testserver.local/login",
        data={"_csrf": pre, "email": "admin@test.vn", "password": "pw-12345678"},
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    assert signed_in.status_code == 303
    assert all("Secure" in c for c in signed_in.headers.get_list("set-cookie"))


async def test_a_form_without_its_csrf_token_changes_nothing(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(1)
    await scene.at_school(tags)
    student = await scene.consenting_student()
    for data in ({}, {"_csrf": "forged"}):
        response = await web.post(
            f"/devices/{tags[0]}/lend",
            data=data | {"student_id": str(student)},
            headers=browser(scene.staff_a),
        )
        assert response.status_code == 403
        assert "reload the page" in response.text
    assert (await scene.device(tags[0]))["status"] == "at_school"


async def test_pages_need_sign_in_and_send_back_after(web: AsyncTestClient) -> None:
    response = await web.get("/schools/5?status=lost")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/schools/5%3Fstatus%3Dlost"


async def test_language_switch_is_kept_on_the_account(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    staff = await factory.staff(await factory.school(DIEN_BIEN))
    switched = await web.post(
        "/lang",
        data=form(staff, lang="en", next="/"),
        headers={"Cookie": f"dt_session={staff.token}"},
    )
    assert switched.status_code == 303
    assert await db.fetchval("SELECT locale FROM users WHERE id = $1", staff.user_id) == "en"
    assert "dt_lang=en" in switched.headers["set-cookie"]

"""The web pages through real HTTP against the real database: sign-in and its cookie
flags, CSRF, each journey's forms, languages, and the errors a user sees."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.auth.secrets import hash_password
from devicetrack.common.clock import local_today
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import API, make_scene
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


async def test_lend_and_take_back_in_three_taps(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(1)
    await scene.at_school(tags)
    student = await scene.consenting_student(full_name="Lò Thị Mai")
    no_consent = await scene.student(full_name="Giàng A Páo")
    tag = tags[0]

    device_page = await web.get(f"/devices/{tag}", headers=browser(scene.staff_a))
    assert f'href="/devices/{tag}/lend"' in device_page.text
    lend_page = await web.get(f"/devices/{tag}/lend", headers=browser(scene.staff_a))
    assert "Lò Thị Mai" in lend_page.text
    assert re.search(rf'value="{no_consent["id"]}" disabled', lend_page.text)

    lent = await web.post(
        f"/devices/{tag}/lend",
        data=form(scene.staff_a, student_id=str(student), condition="good"),
        headers=browser(scene.staff_a),
    )
    assert lent.status_code == 303, lent.text
    assert (await scene.device(tag))["status"] == "assigned"
    shown = await web.get(lent.headers["location"], headers=browser(scene.staff_a))
    assert "Lent." in shown.text and "Lò Thị Mai" in shown.text

    again = await web.post(
        f"/devices/{tag}/lend",
        data=form(scene.staff_a, student_id=str(student)),
        headers=browser(scene.staff_a),
    )
    assert again.status_code == 409  # shown as a page with the reason, nothing changed
    assert "problem" in again.text

    back = await web.post(
        f"/devices/{tag}/return",
        data=form(scene.staff_a, condition="fair", wiped="1"),
        headers=browser(scene.staff_a),
    )
    assert back.status_code == 303
    row = await scene.device(tag)
    assert (row["status"], row["condition"]) == ("at_school", "fair")
    loan = await db.fetchrow("SELECT returned_at, wiped, condition_in FROM assignments")
    assert (
        loan["returned_at"] is not None and loan["wiped"] is True and loan["condition_in"] == "fair"
    )


async def test_donors_never_see_who_holds_a_device(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(1)
    await scene.at_school(tags)
    student = await scene.consenting_student(full_name="Vàng Thị Dung")
    await scene.lend(tags[0], student)
    donor_view = await web.get(f"/devices/{tags[0]}", headers=browser(scene.donor))
    assert donor_view.status_code == 200
    assert "Vàng Thị Dung" not in donor_view.text and f"/students/{student}" not in donor_view.text
    officer_view = await web.get(f"/devices/{tags[0]}", headers=browser(scene.officer))
    assert "Vàng Thị Dung" not in officer_view.text
    staff_view = await web.get(f"/devices/{tags[0]}", headers=browser(scene.staff_a))
    assert "Vàng Thị Dung" in staff_view.text
    student_page = await web.get(f"/students/{student}", headers=browser(scene.donor))
    assert student_page.status_code in (403, 404)
    assert "Vàng Thị Dung" not in student_page.text


async def test_receiving_an_allocation_lists_the_discrepancies(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(3)
    await scene.allocate(tags[:2])
    stranger = tags[2]
    page = await web.get(f"/schools/{scene.school_a}/receive", headers=browser(scene.staff_a))
    assert page.status_code == 200 and tags[0] in page.text
    typo = tags[1][:-1] + ("0" if tags[1][-1] != "0" else "1")
    # Typed with spaces where the dashes go, it is still one tag.
    spaced = tags[0].lower().replace("-", " ")
    result = await web.post(
        f"/schools/{scene.school_a}/receive",
        data=form(scene.staff_a, tags=f"{spaced}\n{typo}\n{stranger}"),
        headers=browser(scene.staff_a),
    )
    assert result.status_code == 200
    assert "did you mean" in result.text and "not allocated to this school" in result.text
    assert (await scene.device(tags[0]))["status"] == "at_school"
    assert (await scene.device(tags[1]))["status"] == "allocated"
    one = await web.post(
        f"/schools/{scene.school_a}/receive.json",
        json={"asset_tags": [tags[1]]},
        headers=browser(scene.staff_a) | {"X-CSRF-Token": form(scene.staff_a)["_csrf"]},
    )
    assert one.status_code == 200 and one.json()["received"] == [tags[1]]


async def test_audit_by_forms_and_by_the_offline_batch(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(3)
    await scene.at_school(tags)
    started = await web.post(
        f"/schools/{scene.school_a}/audits",
        data=form(scene.staff_a, location="Phòng tin học"),
        headers=browser(scene.staff_a),
    )
    assert started.status_code == 303
    audit_url = started.headers["location"]
    one = await web.post(
        f"{audit_url}/scan", data=form(scene.staff_a, code=tags[0]), headers=browser(scene.staff_a)
    )
    assert one.status_code == 303 and one.headers["location"].endswith("last=ok")
    stranger = await web.post(
        f"{audit_url}/scan", data=form(scene.staff_a, code="ZZZ-1"), headers=browser(scene.staff_a)
    )
    assert stranger.headers["location"].endswith("last=unexpected")
    told = await web.get(stranger.headers["location"], headers=browser(scene.staff_a))
    assert "not expected at this school" in told.text
    batch = await web.post(
        f"{audit_url}/scans.json",
        json={
            "scans": [
                {"code": tags[1], "scanned_at": datetime.now(UTC).isoformat()},
                {"code": "rác"},
            ]
        },
        headers=browser(scene.staff_a) | {"X-CSRF-Token": form(scene.staff_a)["_csrf"]},
    )
    assert batch.status_code == 200 and batch.json()["found_so_far"] == 2
    assert batch.json()["unexpected"] == ["rác"]
    live = await web.get(audit_url, headers=browser(scene.staff_a))
    assert "data-found>2<" in live.text.replace(" ", "")
    closed = await web.post(
        f"{audit_url}/close", data=form(scene.staff_a), headers=browser(scene.staff_a)
    )
    assert closed.status_code == 303
    result = await web.get(audit_url, headers=browser(scene.staff_a))
    assert tags[2] in result.text and "Missing 1" in result.text


async def test_donor_upload_shows_every_bad_row_and_adds_nothing(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    bad = (
        "kind,make,model,imei\n"
        "smartphone,Samsung,A05,490154203237518\n"
        "smartphone,Samsung,A05,12345\n"
        "rocket,,,\n"
    )
    response = await web.post(
        f"/donations/{scene.donation_id}/upload",
        files={"file": ("phones.csv", bad.encode(), "text/csv")},
        data=form(scene.donor),
        headers=browser(scene.donor),
    )
    assert response.status_code == 422
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", response.text)
    assert ("3", "IMEI") in rows and ("4", "Kind") in rows  # columns named as on the form
    assert await db.fetchval("SELECT count(*) FROM devices") == 0
    good = "kind,make,model,imei\nsmartphone,Samsung,A05,490154203237518\n"
    ok = await web.post(
        f"/donations/{scene.donation_id}/upload",
        files={"file": ("phones.csv", good.encode(), "text/csv")},
        data=form(scene.donor),
        headers=browser(scene.donor),
    )
    assert ok.status_code == 303 and "n=1" in ok.headers["location"]
    assert await db.fetchval("SELECT count(*) FROM devices") == 1
    shown = await web.get(ok.headers["location"], headers=browser(scene.donor))
    assert "1 device registered." in shown.text  # its count's own form (was "1 devices")


async def test_donor_prints_a_label_sheet(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(3)
    pdf = await web.post(
        f"/donations/{scene.donation_id}/labels",
        data=form(scene.donor, template="a4-3x8", skip="2", copies="2"),
        headers=browser(scene.donor),
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    refused = await web.post(
        f"/donations/{scene.donation_id}/labels",
        data=form(scene.donor, template="a4-3x8", skip="2", copies="0"),
        headers=browser(scene.donor),
    )
    assert refused.status_code == 422 and "Copies of each label" in refused.text


async def test_province_dashboard_in_vietnamese_with_charts_and_excel(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await db.execute(
        """INSERT INTO enrolments (school_id, school_year, students_total, priority_students)
           VALUES ($1, '2026-2027', 40, 10)""",
        scene.school_a,
    )
    tags = await scene.tablets(2)
    await scene.at_school(tags)
    response = await web.get("/province?sort=coverage_pct", headers=browser(scene.officer, "vi"))
    assert response.status_code == 200
    html = response.text
    assert '<html lang="vi">' in html and "Độ phủ" in html and "Còn thiếu" in html
    assert re.search(r"tính đến \d{2}/\d{2}/\d{4}", html)
    assert html.count('<svg class="chart"') == 2
    assert 'aria-current="true">Độ phủ ↑' in html
    english = await web.get("/province", headers=browser(scene.officer, "en"))
    assert "Largest gaps" in english.text
    xlsx = await web.get("/province/coverage.xlsx", headers=browser(scene.officer))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


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


async def test_scan_box_suggests_the_right_tag(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tag = (await scene.tablets(1))[0]
    wrong = tag[:-1] + ("0" if tag[-1] != "0" else "1")
    response = await web.get(f"/scan?code={wrong.lower()}", headers=browser(scene.officer))
    assert response.status_code == 422
    assert f'href="/scan?code={tag}"' in response.text and "Did you mean" in response.text
    found = await web.get(
        f"/scan?code={tag.replace('-', '').lower()}", headers=browser(scene.officer)
    )
    assert found.status_code == 303 and found.headers["location"] == f"/devices/{tag}"
    missing = await web.get("/scan?code=no-such-thing", headers=browser(scene.officer))
    assert missing.status_code == 404


async def test_unexpected_errors_show_a_page_without_internals(
    web: AsyncTestClient, factory: Factory
) -> None:
    admin = await factory.admin()
    response = await web.get("/devices/DT99-000001-0", headers=browser(admin))
    assert response.status_code in (404, 422)
    assert "Traceback" not in response.text and "Request id" in response.text
    assert response.headers["content-type"].startswith("text/html")


assert API  # the API prefix is used by the scene helpers


async def test_sim_and_audit_tables_export_to_excel_in_the_readers_language(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    import io

    from openpyxl import load_workbook

    scene = await make_scene(client, db, factory)
    soon = (local_today() + timedelta(days=10)).isoformat()
    sims = await scene.intake(
        {"kind": "sim", "iccid": "8984048000000000017", "plan_expires_on": soon}
    )
    await scene.at_school(sims)
    response = await web.get("/province/sims.xlsx", headers=browser(scene.officer, "vi"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Trường" and rows[0][1] == "SIM"
    school = await db.fetchval("SELECT name FROM schools WHERE id = $1", scene.school_a)
    assert rows[1][:3] == (school, 1, 0)
    overdue = await web.get("/province/audits.xlsx", headers=browser(scene.officer, "en"))
    header = next(load_workbook(io.BytesIO(overdue.content)).active.iter_rows(values_only=True))
    assert header == ("School", "Last audit", "Devices held")


async def test_the_pages_json_endpoints_answer_errors_as_problem_json(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    token = form(scene.staff_a)["_csrf"]
    refused = await web.post(
        f"/schools/{scene.school_b}/receive.json",
        json={"asset_tags": ["DT11-000001-0"]},
        headers=browser(scene.staff_a) | {"X-CSRF-Token": token},
    )
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    no_csrf = await web.post(
        f"/schools/{scene.school_a}/receive.json",
        json={"asset_tags": ["DT11-000001-0"]},
        headers=browser(scene.staff_a),
    )
    assert no_csrf.status_code == 403 and no_csrf.json()["title"].startswith("The form expired")


async def test_a_browser_gets_a_page_for_an_unknown_address_and_the_api_keeps_json(
    web: AsyncTestClient, factory: Factory
) -> None:
    staff = await factory.staff(await factory.school(DIEN_BIEN))
    html = {"Accept": "text/html,application/xhtml+xml"}
    for url in ("/nonexistent", "/students/abc", "/schools/1/xyz"):
        response = await web.get(url, headers=browser(staff, "vi") | html)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Không tìm thấy" in response.text
    api = await web.get("/api/v1/nonexistent", headers=html)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


async def test_refused_consent_and_take_back_come_back_to_their_forms(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    await scene.lend(tag, student)
    future = await web.post(
        f"/students/{student}/consents",
        data=form(
            scene.staff_a, given_by="Bà Lò Thị Phương", method="paper", given_at="2099-01-01"
        ),
        headers=browser(scene.staff_a, "vi"),
    )
    assert future.status_code == 422
    assert "Ngày đồng ý không thể ở tương lai." in future.text
    assert 'value="Bà Lò Thị Phương"' in future.text  # what was typed is kept
    assert 'action="/students/' in future.text  # the form, not a dead end
    back = await web.post(
        f"/devices/{tag}/return",
        data=form(scene.staff_a, note="màn hình xước"),
        headers=browser(scene.staff_a),
    )
    assert back.status_code == 422
    assert f'action="/devices/{tag}/return"' in back.text and 'value="màn hình xước"' in back.text
    assert (await scene.device(tag))["status"] == "assigned"


async def test_transfer_picks_a_school_by_name_and_a_refusal_keeps_the_form(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    names = dict(
        await db.fetch(
            "SELECT id, name FROM schools WHERE id = ANY($1::int[])",
            [scene.school_a, scene.school_b],
        )
    )
    page = await web.get(f"/devices/{tag}", headers=browser(scene.officer))
    assert page.status_code == 200
    picker = re.search(
        r'<select id="school-transfer" name="school_id".*?</select>', page.text, re.S
    )
    assert picker, "the transfer form picks a school from a list"
    assert f'value="{scene.school_b}"' in picker.group(0) and names[scene.school_b] in picker.group(
        0
    )
    assert f'value="{scene.school_a}"' not in picker.group(0)  # not the school it is at

    # Refused (the school it is already at): the device page again, the transfer form open
    # with the reason and the note typed; nothing changed.
    refused = await web.post(
        f"/devices/{tag}/actions/transfer",
        data=form(scene.officer, school_id=str(scene.school_a), note="chuyển gấp"),
        headers=browser(scene.officer),
    )
    assert refused.status_code == 409, refused.text
    assert "already at that school" in refused.text
    assert re.search(
        r'<details class="action" open>\s*<summary>[^<]*</summary>\s*<div class="problem"',
        refused.text,
    )
    assert 'value="chuyển gấp"' in refused.text
    assert (await scene.device(tag))["school_id"] == scene.school_a

    moved = await web.post(
        f"/devices/{tag}/actions/transfer",
        data=form(scene.officer, school_id=str(scene.school_b)),
        headers=browser(scene.officer),
    )
    assert moved.status_code == 303, moved.text
    row = await scene.device(tag)
    assert (row["school_id"], row["status"]) == (scene.school_b, "allocated")

    # A value that is not a number comes back to the form too, never a bare error page.
    junk = await web.post(
        f"/devices/{tag}/actions/report-lost",
        data=form(scene.officer, note="x" * 2001),
        headers=browser(scene.officer),
    )
    assert junk.status_code == 422 and 'action="/devices/' in junk.text


async def test_staff_of_two_schools_see_each_school_by_name(
    web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    first, second = await factory.school(), await factory.school()
    names = dict(
        await db.fetch("SELECT id, name FROM schools WHERE id = ANY($1::int[])", [first, second])
    )
    both = await factory.staff(first, second)
    menu = (await web.get(f"/schools/{first}", headers=browser(both))).text
    for school, name in names.items():
        assert f'<a href="/schools/{school}">{name}</a>' in menu
    one = await factory.staff(first)
    menu = (await web.get(f"/schools/{first}", headers=browser(one))).text
    assert f'<a href="/schools/{first}">My school</a>' in menu


async def test_the_school_sees_who_still_needs_a_device(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    first, second = tags = await scene.tablets(2)
    await scene.at_school(tags)
    holder = await scene.consenting_student(full_name="Lò Văn Có")
    waiting = await scene.consenting_student(full_name="Mùa Thị Chờ")
    await scene.lend(first, holder)

    # The API's filter: the students who still need a device, and those who hold one.
    for has_device, expected in (("false", [waiting]), ("true", [holder])):
        listed = await client.get(
            f"{API}/students",
            params={"school": scene.school_a, "has_device": has_device},
            headers=scene.staff_a.headers,
        )
        assert listed.status_code == 200, listed.text
        assert [s["id"] for s in listed.json()["items"]] == expected
        assert listed.json()["items"][0]["has_device"] is (has_device == "true")

    # The page's filter and column.
    needing = await web.get(
        f"/schools/{scene.school_a}/students?device=no", headers=browser(scene.staff_a)
    )
    assert "Mùa Thị Chờ" in needing.text and "Lò Văn Có" not in needing.text
    # Lending the second tablet: the student who holds one is marked.
    lend_page = await web.get(f"/devices/{second}/lend", headers=browser(scene.staff_a, "vi"))
    row = re.search(rf'value="{holder}".*?</label>', lend_page.text, re.S)
    assert row and "đã có thiết bị" in row.group(0)
    other = re.search(rf'value="{waiting}".*?</label>', lend_page.text, re.S)
    assert other and "đã có thiết bị" not in other.group(0)


async def test_a_large_donation_is_listed_page_by_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(105)
    first = await web.get(f"/donations/{scene.donation_id}", headers=browser(scene.donor))
    assert first.status_code == 200
    listed = re.findall(r'<td><a href="/devices/([^"]+)">', first.text)
    assert listed == tags[:100]
    more = re.search(r'<a href="(\?after=\d+)">More', first.text)
    assert more, "a link to the rest"
    rest = await web.get(
        f"/donations/{scene.donation_id}{more.group(1)}", headers=browser(scene.donor)
    )
    assert re.findall(r'<td><a href="/devices/([^"]+)">', rest.text) == tags[100:]
    assert "More" not in rest.text.split("<h2>")[-1]


async def test_excel_exports_speak_the_readers_language_and_clock(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    import io

    import openpyxl

    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(1)
    await scene.at_school(tags)
    received = (await scene.device(tags[0]))["received_at"]

    def sheet(content: bytes) -> list[tuple]:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return list(book.worksheets[0].iter_rows(values_only=True))

    devices = await web.get(
        f"/schools/{scene.school_a}/devices.xlsx", headers=browser(scene.staff_a, "vi")
    )
    assert devices.status_code == 200, devices.text
    header, row = sheet(devices.content)
    assert header[:4] == ("Mã tài sản", "Loại", "Hãng", "Mẫu máy")
    values = dict(zip(header, row))  # noqa: B905 (trailing empty cells are not stored)
    assert (values["Mã tài sản"], values["Loại"], values["Trạng thái"]) == (
        tags[0],
        "Máy tính bảng",
        "Tại trường",
    )
    # Vietnam's clock (UTC+7), as Excel has no time zones.
    local = (received.astimezone(UTC) + timedelta(hours=7)).replace(tzinfo=None)
    assert abs(values["Đã nhận"] - local) < timedelta(seconds=1)
    # The API's export stays machine-readable: field names and stored codes.
    api = await client.get(
        f"{API}/devices/export",
        params={"format": "xlsx", "school": scene.school_a},
        headers=scene.staff_a.headers,
    )
    api_header, api_row = sheet(api.content)
    assert api_header[:2] == ("asset_tag", "kind") and api_row[1] == "tablet"

    coverage = await web.get("/province/coverage.xlsx", headers=browser(scene.officer, "vi"))
    header = sheet(coverage.content)[0]
    assert "Tên trường" in header or "Trường" in header
    assert {"Sĩ số", "Độ phủ (%)", "Còn thiếu"} <= set(header)
    english = await web.get("/province/coverage.xlsx", headers=browser(scene.officer, "en"))
    assert {"Enrolled", "Coverage (%)", "Gap"} <= set(sheet(english.content)[0])


async def test_closing_an_empty_audit_comes_back_to_the_audit_with_the_reason(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await scene.at_school(await scene.tablets(2))
    started = await web.post(
        f"/schools/{scene.school_a}/audits",
        data=form(scene.staff_a),
        headers=browser(scene.staff_a),
    )
    audit_url = started.headers["location"]
    closed = await web.post(
        f"{audit_url}/close", data=form(scene.staff_a), headers=browser(scene.staff_a, "vi")
    )
    assert closed.status_code == 409
    assert "chưa quét thiết bị nào" in closed.text and f'action="{audit_url}/close"' in closed.text
    assert await db.fetchval("SELECT count(*) FROM audits WHERE closed_at IS NOT NULL") == 0


async def test_reset_and_sim_pairing_from_the_device_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tablet,) = tags = await scene.tablets(1)
    (sim,) = await scene.intake({"kind": "sim", "iccid": "8984040000000000027"})
    await scene.at_school(tags)
    student = await scene.consenting_student()
    loan = await scene.lend(tablet, student)
    back = await client.post(
        f"{API}/assignments/{loan['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": False},
    )
    assert back.status_code == 200, back.text
    staff = browser(scene.staff_a)
    page = (await web.get(f"/devices/{tablet}", headers=staff)).text
    assert f'href="/devices/{tablet}/lend"' not in page  # not before the reset
    assert f'action="/devices/{tablet}/actions/wipe"' in page
    wiped = await web.post(
        f"/devices/{tablet}/actions/wipe", data=form(scene.staff_a), headers=staff
    )
    assert wiped.status_code == 303, wiped.text
    page = (await web.get(f"/devices/{tablet}", headers=staff)).text
    assert f'href="/devices/{tablet}/lend"' in page

    # Install the SIM by its ICCID, from the tablet's page.
    officer = browser(scene.officer)
    installed = await web.post(
        f"/devices/{tablet}/actions/install-sim",
        data=form(scene.officer, sim="8984040000000000027"),
        headers=officer,
    )
    assert installed.status_code == 303, installed.text
    assert (await scene.device(sim))["installed_in_id"] == (await scene.device(tablet))["id"]
    sim_page = (await web.get(f"/devices/{sim}", headers=officer)).text
    assert "inside another device" in sim_page and f'href="/devices/{tablet}"' in sim_page
    assert "/actions/report-lost" not in sim_page  # it follows its tablet
    tablet_page = (await web.get(f"/devices/{tablet}", headers=officer)).text
    assert f'action="/devices/{tablet}/actions/remove-sim"' in tablet_page
    # A wrong SIM code comes back to the form with the reason.
    refused = await web.post(
        f"/devices/{tablet}/actions/remove-sim", data=form(scene.officer), headers=officer
    )
    assert refused.status_code == 303
    again = await web.post(
        f"/devices/{tablet}/actions/install-sim",
        data=form(scene.officer, sim="DT99-999999-0"),
        headers=officer,
    )
    assert again.status_code in (404, 409, 422), again.text
    assert 'value="DT99-999999-0"' in again.text


async def test_allocating_redirects_to_its_result_and_a_refusal_keeps_the_scans(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    first, second = await scene.tablets(2)
    officer = browser(scene.officer)
    url = f"/schools/{scene.school_a}/allocate"
    wrong = second[:-1] + ("0" if second[-1] != "0" else "1")
    refused = await web.post(
        url, data=form(scene.officer, tags=f"{first}\n{wrong}", note="đợt 1"), headers=officer
    )
    assert refused.status_code in (404, 409, 422), refused.text
    assert f"{first}\n{wrong}</textarea>" in refused.text and 'value="đợt 1"' in refused.text
    assert (await scene.device(first))["status"] == "in_stock"

    done = await web.post(url, data=form(scene.officer, tags=f"{first}\n{second}"), headers=officer)
    assert done.status_code == 303, done.text
    assert "?allocation=" in done.headers["location"]
    shown = await web.get(done.headers["location"], headers=officer)
    assert shown.status_code == 200
    assert f'href="/devices/{first}"' in shown.text and f'href="/devices/{second}"' in shown.text
    # Reloading the result allocates nothing more.
    assert await db.fetchval("SELECT count(*) FROM allocations") == 1


async def test_import_refusals_read_in_vietnamese(
    web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    school = await factory.school(DIEN_BIEN)
    staff = await factory.staff(school)
    table = (
        "student_code,full_name,grade,national_id,status,birth_year\n"
        "HS-1,Lò Văn A,x,123,gone,1800\n"
        "HS-2,Lò Văn B,14,,active,\n"
    ).encode()
    refused = await web.post(
        f"/schools/{school}/students/import",
        data={"_csrf": form(staff)["_csrf"]},
        files={"file": ("s.csv", table, "text/csv")},
        headers=browser(staff, "vi"),
    )
    assert refused.status_code == 422, refused.text
    text = refused.text
    for vietnamese in (
        "phải là số nguyên",
        "phải gồm 12 chữ số",
        "hãy dùng một trong",
        "vượt giới hạn",
        "Số định danh",
        "Năm sinh",
    ):
        assert vietnamese in text, vietnamese
    assert "must be" not in text and "use one of" not in text


async def test_the_sims_to_top_up_are_listed_one_by_one(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    import io

    from openpyxl import load_workbook

    scene = await make_scene(client, db, factory)
    soon = (local_today() + timedelta(days=5)).isoformat()
    later = (local_today() + timedelta(days=200)).isoformat()
    near, far = await scene.intake(
        {
            "kind": "sim",
            "iccid": "8984040000000000035",
            "msisdn": "0912000111",
            "carrier": "viettel",
            "plan_expires_on": soon,
        },
        {"kind": "sim", "iccid": "8984040000000000043", "plan_expires_on": later},
    )
    report = await client.get(
        f"{API}/reports/sim-expiry", params={"within_days": 30}, headers=scene.officer.headers
    )
    assert report.status_code == 200, report.text
    listed = report.json()["sims"]
    assert [s["asset_tag"] for s in listed] == [near]
    assert (listed[0]["msisdn"], listed[0]["plan_expires_on"], listed[0]["lent"]) == (
        "+84912000111",
        soon,
        False,
    )
    page = await web.get("/province/sims?days=30", headers=browser(scene.officer, "vi"))
    assert f'href="/devices/{near}"' in page.text and far not in page.text
    assert "SIM cần nạp thêm" in page.text and "<title>" in page.text
    assert "<a" not in page.text.split("<title>")[1].split("</title>")[0]  # a plain title
    sheet = await web.get("/province/sims-list.xlsx?days=30", headers=browser(scene.officer))
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Asset tag", "Phone number", "ICCID")
    assert [r[0] for r in rows[1:]] == [near]


async def test_a_sim_is_registered_with_its_plan_and_renewed_from_its_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    expires = (local_today() + timedelta(days=20)).isoformat()
    registered = await web.post(
        f"/donations/{scene.donation_id}/devices",
        data=form(
            scene.donor,
            kind="sim",
            iccid="8984040000000000068",
            msisdn="0912 333 444",
            carrier="vinaphone",
            plan_name="Data 4G",
            plan_quota_gb="4",
            plan_expires_on=expires,
            paid_by="VNPT",
            note="gói miễn phí",
        ),
        headers=browser(scene.donor),
    )
    assert registered.status_code == 303, registered.text
    sim = await db.fetchrow("SELECT * FROM devices WHERE iccid = '8984040000000000068'")
    assert (sim["msisdn"], sim["carrier"], sim["plan_name"], str(sim["plan_expires_on"])) == (
        "+84912333444",
        "vinaphone",
        "Data 4G",
        expires,
    )
    assert (sim["paid_by"], sim["note"], float(sim["plan_quota_gb"])) == (
        "VNPT",
        "gói miễn phí",
        4.0,
    )

    officer = browser(scene.officer)
    later = (local_today() + timedelta(days=110)).isoformat()
    renewed = await web.post(
        f"/devices/{sim['asset_tag']}/plan",
        data=form(scene.officer, plan_expires_on=later, plan_name="Data 4G gia hạn"),
        headers=officer,
    )
    assert renewed.status_code == 303, renewed.text
    row = await scene.device(sim["asset_tag"])
    assert (str(row["plan_expires_on"]), row["plan_name"]) == (later, "Data 4G gia hạn")
    for stranger in (scene.staff_b, scene.officer_other):
        refused = await web.post(
            f"/devices/{sim['asset_tag']}/plan",
            data=form(stranger, plan_expires_on=later),
            headers=browser(stranger),
        )
        assert refused.status_code == 404
    junk = await web.post(
        f"/devices/{sim['asset_tag']}/plan",
        data=form(scene.officer, plan_expires_on="next year"),
        headers=officer,
    )
    assert junk.status_code == 422 and 'action="/devices/' in junk.text


async def test_a_loan_from_the_page_can_carry_a_due_date_and_a_note(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = tags = await scene.tablets(1)
    await scene.at_school(tags)
    student = await scene.consenting_student()
    staff = browser(scene.staff_a)
    page = await web.get(f"/devices/{tag}/lend", headers=staff)
    assert 'name="due_back_on" type="date"' in page.text
    past = (local_today() - timedelta(days=1)).isoformat()
    refused = await web.post(
        f"/devices/{tag}/lend",
        data=form(scene.staff_a, student_id=str(student), due_back_on=past),
        headers=staff,
    )
    assert refused.status_code == 422 and f'action="/devices/{tag}/lend"' in refused.text
    due = (local_today() + timedelta(days=180)).isoformat()
    lent = await web.post(
        f"/devices/{tag}/lend",
        data=form(scene.staff_a, student_id=str(student), due_back_on=due, note="hết năm học"),
        headers=staff,
    )
    assert lent.status_code == 303, lent.text
    loan = await db.fetchrow("SELECT due_back_on, note FROM assignments")
    assert (str(loan["due_back_on"]), loan["note"]) == (due, "hết năm học")


async def test_a_donor_logs_a_donation_on_its_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    donor = await factory.donor()
    user = await factory.donor_user(donor)
    headers = browser(user)
    home = await web.get("/donor", headers=headers)
    assert 'action="/donor/donations"' in home.text
    refused = await web.post(
        "/donor/donations",
        data=form(user, province_code="11", reference="", kind_0="laptop", quantity_0="abc"),
        headers=headers,
    )
    assert refused.status_code == 422
    assert 'name="quantity_0" inputmode="numeric" value="abc"' in refused.text
    half = await web.post(
        "/donor/donations",
        data=form(user, province_code="11", reference="QUY-HALF", kind_0="laptop"),
        headers=headers,
    )
    assert half.status_code == 422  # a kind without a quantity is not silently dropped
    bad_place = await web.post(
        "/donor/donations",
        data=form(user, province_code="1", reference="QUY-X", kind_0="laptop", quantity_0="2"),
        headers=headers,
    )
    assert bad_place.status_code == 422 and "<td>Province code</td>" in bad_place.text
    assert await db.fetchval("SELECT count(*) FROM donations WHERE reference = 'QUY-HALF'") == 0
    saved = await web.post(
        "/donor/donations",
        data=form(
            user,
            province_code="11",
            reference="QUY-2026-07",
            received_on="2026-11-20",
            kind_0="laptop",
            quantity_0="500",
            model_0="Dell Latitude",
            kind_1="tablet",
            quantity_1="30",
        ),
        headers=headers,
    )
    assert saved.status_code == 303, saved.text
    donation = await db.fetchrow("SELECT * FROM donations WHERE reference = 'QUY-2026-07'")
    assert (donation["donor_id"], donation["province_code"]) == (donor, "11")
    lines = await db.fetch(
        "SELECT kind, quantity FROM donation_lines WHERE donation_id = $1 ORDER BY kind",
        donation["id"],
    )
    assert [tuple(r) for r in lines] == [("laptop", 500), ("tablet", 30)]
    assert saved.headers["location"].startswith(f"/donations/{donation['id']}")
    # Only a donor logs for itself here: an officer is refused.
    officer = await factory.officer()
    assert (
        await web.post("/donor/donations", data=form(officer), headers=browser(officer))
    ).status_code == 403


async def test_the_student_page_edits_withdraws_exports_and_erases(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    student = await scene.consenting_student(full_name="Vàng Thị Xoan")
    staff = browser(scene.staff_a)
    url = f"/students/{student}"
    edited = await web.post(
        f"{url}/edit",
        data=form(scene.staff_a, grade="6", class_name="6A", guardian_phone="0912 111 222"),
        headers=staff,
    )
    assert edited.status_code == 303, edited.text
    row = await db.fetchrow(
        "SELECT grade, class_name, guardian_phone FROM students WHERE id = $1", student
    )
    assert tuple(row) == (6, "6A", "+84912111222")
    bad = await web.post(
        f"{url}/edit", data=form(scene.staff_a, guardian_phone="12"), headers=staff
    )
    assert bad.status_code == 422 and 'value="12"' in bad.text

    consent_id = await db.fetchval("SELECT id FROM consents WHERE student_id = $1", student)
    withdrawn = await web.post(
        f"{url}/consents/{consent_id}/withdraw", data=form(scene.staff_a), headers=staff
    )
    assert withdrawn.status_code == 303
    assert await db.fetchval("SELECT withdrawn_at FROM consents WHERE id = $1", consent_id)

    exported = await web.get(f"{url}/export", headers=staff)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert exported.json()["student"]["full_name"] == "Vàng Thị Xoan"
    assert (await web.get(f"{url}/export", headers=browser(scene.officer))).status_code == 403

    unconfirmed = await web.post(f"{url}/erase", data=form(scene.staff_a), headers=staff)
    assert unconfirmed.status_code == 422
    assert await db.fetchval("SELECT erased_at FROM students WHERE id = $1", student) is None
    erased = await web.post(f"{url}/erase", data=form(scene.staff_a, confirm="1"), headers=staff)
    assert erased.status_code == 303, erased.text
    row = await db.fetchrow("SELECT full_name, erased_at FROM students WHERE id = $1", student)
    assert row["erased_at"] is not None and "Xoan" not in row["full_name"]
    # Another school's staff cannot touch the student, nor an officer erase it.
    for action, values in (("edit", {"grade": "7"}), ("erase", {"confirm": "1"})):
        other = await web.post(
            f"{url}/{action}", data=form(scene.staff_b, **values), headers=browser(scene.staff_b)
        )
        assert other.status_code == 404, action
    withdraw = await web.post(
        f"{url}/consents/{consent_id}/withdraw",
        data=form(scene.staff_b),
        headers=browser(scene.staff_b),
    )
    assert withdraw.status_code == 404


async def test_the_dashboard_shows_another_school_year(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    from devicetrack.reports.service import current_school_year

    scene = await make_scene(client, db, factory)
    this_year = current_school_year(local_today())
    start = int(this_year[:4])
    last_year = f"{start - 1}-{start}"
    await db.execute(
        """INSERT INTO enrolments (school_id, school_year, students_total, priority_students)
           VALUES ($1, $2, 4321, 10), ($1, $3, 1234, 10)""",
        scene.school_a,
        this_year,
        last_year,
    )
    officer = browser(scene.officer)
    now = await web.get("/province", headers=officer)
    assert f'<option value="{this_year}" selected>' in now.text and "4,321" in now.text
    before = await web.get(f"/province?year={last_year}", headers=officer)
    assert f'<option value="{last_year}" selected>' in before.text and "1,234" in before.text
    assert f"year={last_year}&amp;sort=" in before.text  # the sort links keep the year
    assert f"/province/coverage.xlsx?level=school&year={last_year}" in before.text
    import io

    from openpyxl import load_workbook

    sheet = await web.get(f"/province/coverage.xlsx?level=school&year={last_year}", headers=officer)
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    enrolled = rows[0].index("Enrolled")
    assert 1234 in [r[enrolled] for r in rows[1:]]  # the chosen year's enrolment
    odd = await web.get("/province?year=1900-1901", headers=officer)
    assert odd.status_code == 200 and f'<option value="{this_year}" selected>' in odd.text

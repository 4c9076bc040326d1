"""Students and loans through the pages: lending in three taps and taking back, who still
needs a device, importing students, consent, and a student's own page."""

from __future__ import annotations

import re
from datetime import timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser, form, pdf_text


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
    # The page shows the number as people write it, and the consent form's date is today
    # in Vietnam (#14 item 9).
    shown = (await web.get(url, headers=staff)).text
    assert 'value="0912 111 222"' in shown and "+84912111222" not in shown
    assert f'name="given_at" type="date" required value="{local_today().isoformat()}"' in shown
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
    assert exported.headers["content-type"] == "application/pdf"
    assert "Vàng Thị Xoan" in pdf_text(exported.content)
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

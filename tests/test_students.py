"""Students (SPEC §2) managed by their school's staff: create, read, update, list with
filters, all-or-nothing import from CSV or XLSX, moves between schools, and consents."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import openpyxl

from tests.factories import assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene

FULL = {
    "student_code": "HS-0042-0007",
    "full_name": "Lò Thị Mai",
    "grade": 7,
    "class_name": "7A",
    "priority": ["remote", "ethnic_minority", "remote"],
    "national_id": "011234567890",
    "birth_year": 2013,
    "guardian_name": "Lò Văn Pọm",
    "guardian_phone": "0912345678",
}


async def _row(scene: Scene, student_id: int) -> dict:
    row = await scene.db.fetchrow("SELECT * FROM students WHERE id = $1", student_id)
    assert row is not None
    return dict(row)


async def test_staff_create_read_update_and_list_students(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    h = scene.staff_a.headers
    response = await client.post(
        f"{API}/students", headers=h, json={"school_id": scene.school_a, **FULL}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["priority"] == ["ethnic_minority", "remote"]
    assert (created["status"], created["has_consent"], created["erased"]) == (
        "active",
        False,
        False,
    )
    for field in ("full_name", "national_id", "birth_year", "guardian_name"):
        assert created[field] == FULL[field]
    assert created["guardian_phone"] == "+84" + FULL["guardian_phone"].lstrip("0")
    row = await _row(scene, created["id"])
    assert (row["school_id"], row["full_name"], row["grade"], row["priority"]) == (
        scene.school_a,
        "Lò Thị Mai",
        7,
        ["ethnic_minority", "remote"],
    )
    read = await client.get(f"{API}/students/{created['id']}", headers=h)
    assert read.json() == created

    patched = await client.patch(
        f"{API}/students/{created['id']}",
        headers=h,
        json={"grade": 8, "class_name": "8A", "priority": ["disability"], "status": "left"},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["grade"], patched.json()["priority"], patched.json()["status"]) == (
        8,
        ["disability"],
        "left",
    )
    row = await _row(scene, created["id"])
    assert (row["grade"], row["class_name"], row["priority"], row["status"]) == (
        8,
        "8A",
        ["disability"],
        "left",
    )

    others = [
        await scene.student(grade=0, class_name="Lá", priority=["poor_household"]),
        await scene.student(grade=8, class_name="8A"),
        await scene.student(scene.school_b, grade=8),
    ]

    async def ids(**params) -> list[int]:
        listed = await client.get(f"{API}/students", params=params, headers=h)
        assert listed.status_code == 200, listed.text
        return [s["id"] for s in listed.json()["items"]]

    assert await ids() == [created["id"], others[0]["id"], others[1]["id"]]
    assert await ids(grade=8) == [created["id"], others[1]["id"]]
    assert await ids(class_name="8A", status="active") == [others[1]["id"]]
    assert await ids(status="left") == [created["id"]]
    assert await ids(priority="poor_household") == [others[0]["id"]]
    assert await ids(q="thị mai") == [created["id"]]
    assert await ids(q="HS-0042") == [created["id"]]
    assert await ids(school=scene.school_b) == []
    page = await client.get(f"{API}/students", params={"limit": 2}, headers=h)
    rest = await client.get(
        f"{API}/students", params={"cursor": page.json()["next_cursor"]}, headers=h
    )
    assert [s["id"] for s in page.json()["items"] + rest.json()["items"]] == await ids()


async def test_student_fields_are_validated(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    base = {"school_id": scene.school_a, "student_code": "HS-1", "full_name": "A", "grade": 3}
    for change, field in (
        ({"grade": 13}, "grade"),
        ({"grade": -1}, "grade"),
        ({"priority": ["rich"]}, "priority"),
        ({"national_id": "01234567890"}, "national_id"),
        ({"status": "expelled"}, "status"),
        ({"full_name": ""}, "full_name"),
        ({"nickname": "Mai"}, "nickname"),
    ):
        response = await client.post(
            f"{API}/students", headers=scene.staff_a.headers, json=base | change
        )
        body = assert_problem(response, 400)
        assert any(field in (e.get("field") or "") for e in body["errors"]), (change, body)
    for grade in (0, 12):
        response = await client.post(
            f"{API}/students",
            headers=scene.staff_a.headers,
            json=base | {"grade": grade, "student_code": f"G{grade}"},
        )
        assert response.status_code == 201, response.text
    # The code is unique per school, not across schools.
    response = await client.post(
        f"{API}/students", headers=scene.staff_a.headers, json=base | {"student_code": "G0"}
    )
    body = assert_problem(response, 409)
    assert body["errors"][0]["field"] == "student_code"
    await scene.student(scene.school_b, student_code="G0")
    assert await db.fetchval("SELECT count(*) FROM students") == 3
    response = await client.patch(
        f"{API}/students/{await db.fetchval('SELECT min(id) FROM students')}",
        headers=scene.staff_a.headers,
        json={"grade": 13},
    )
    assert_problem(response, 400)
    assert await db.fetchval("SELECT max(grade) FROM students") == 12


async def test_only_the_school_staff_manage_its_students(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    student = await scene.student(full_name="Nguyễn Văn An")
    body = {"school_id": scene.school_a, "student_code": "X-1", "full_name": "X", "grade": 1}
    for caller, status in (
        (scene.officer, 403),
        (scene.donor, 403),
        (scene.staff_b, 404),
        (scene.officer_other, 404),
    ):
        response = await client.post(f"{API}/students", headers=caller.headers, json=body)
        assert_problem(response, status)
        response = await client.patch(
            f"{API}/students/{student['id']}", headers=caller.headers, json={"grade": 9}
        )
        assert response.status_code in (403, 404), response.text
        response = await client.delete(f"{API}/students/{student['id']}", headers=caller.headers)
        assert response.status_code in (403, 404), response.text
    for caller, status in ((scene.donor, 403), (scene.staff_b, 404), (scene.officer_other, 404)):
        assert_problem(
            await client.get(f"{API}/students/{student['id']}", headers=caller.headers), status
        )
    assert await db.fetchval("SELECT count(*) FROM students") == 1
    row = await _row(scene, student["id"])
    assert (row["grade"], row["full_name"], row["erased_at"]) == (5, "Nguyễn Văn An", None)
    # The province officer reads the pseudonymous record only.
    read = await client.get(f"{API}/students/{student['id']}", headers=scene.officer.headers)
    assert read.status_code == 200
    assert "full_name" not in read.json() and read.json()["student_code"] == student["student_code"]
    # Admins manage any school's students.
    response = await client.post(f"{API}/students", headers=scene.admin.headers, json=body)
    assert response.status_code == 201, response.text


CSV_OK = (
    "mã học sinh,họ và tên,khối,lớp,ưu tiên,năm sinh,phụ huynh\n"
    "HS-01,Lò Thị Mai,7,7A,ethnic_minority;remote,2013,Lò Văn Pọm\n"
    "HS-02,Vàng A Dính,0,Mầm,,2021,\n"
    "HS-03,Quàng Văn Hùng,12,12B,poor_household,,Quàng Thị Lan\n"
)


async def _import(scene: Scene, data: bytes, filename: str, caller=None, school=None):
    return await scene.client.post(
        f"{API}/students/import",
        params={"school_id": school or scene.school_a},
        headers=(caller or scene.staff_a).headers,
        files={"file": (filename, data)},
    )


async def test_import_students_from_csv(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    response = await _import(scene, CSV_OK.encode(), "hs.csv")
    assert response.status_code == 201, response.text
    assert response.json()["created"] == 3
    rows = await db.fetch(
        "SELECT id, student_code, full_name, grade, class_name, priority, birth_year,"
        " guardian_name, status, school_id FROM students ORDER BY student_code"
    )
    assert [r["id"] for r in rows] == response.json()["student_ids"]
    assert [tuple(r)[1:] for r in rows] == [
        ("HS-01", "Lò Thị Mai", 7, "7A", ["ethnic_minority", "remote"], 2013, "Lò Văn Pọm",
         "active", scene.school_a),
        ("HS-02", "Vàng A Dính", 0, "Mầm", [], 2021, None, "active", scene.school_a),
        ("HS-03", "Quàng Văn Hùng", 12, "12B", ["poor_household"], None, "Quàng Thị Lan",
         "active", scene.school_a),
    ]  # fmt: skip


async def test_import_is_all_or_nothing_with_row_errors(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    await scene.student(student_code="HS-OLD")
    bad = (
        "student_code,full_name,grade,priority,national_id,status\n"
        "HS-10,Ok One,3,,,\n"  # row 2: fine
        "HS-11,Too Old,13,,,\n"  # row 3
        "HS-10,Twice,4,,,\n"  # row 4
        "HS-OLD,Exists,4,,,\n"  # row 5
        "HS-12,Flags,4,rich,,\n"  # row 6
        "HS-13,,4,,,\n"  # row 7
        "HS-14,Id,4,,12345,\n"  # row 8
        "HS-15,Status,4,,,expelled\n"  # row 9
        "HS-16,Grade,ba,,,\n"  # row 10
    )
    response = await _import(scene, bad.encode(), "bad.csv")
    body = assert_problem(response, 422)
    errors = {(e["row"], e["field"]) for e in body["errors"]}
    assert errors == {
        (3, "grade"),
        (4, "student_code"),
        (5, "student_code"),
        (6, "priority"),
        (7, "full_name"),
        (8, "national_id"),
        (9, "status"),
        (10, "grade"),
    }
    assert await db.fetchval("SELECT count(*) FROM students") == 1
    # A header it does not know is refused before any row.
    body = assert_problem(
        await _import(scene, b"student_code,full_name,age\nA,B,3\n", "x.csv"), 422
    )
    assert body["errors"][0]["field"] == "age"
    body = assert_problem(await _import(scene, b"student_code,full_name\nA,B\n", "x.csv"), 422)
    assert body["errors"] == [{"row": 1, "field": "grade", "message": "required column missing"}]
    assert await db.fetchval("SELECT count(*) FROM students") == 1


async def test_import_students_from_xlsx(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["student_code", "full_name", "grade", "class_name", "priority"])
    sheet.append(["HS-X1", "Giàng Thị Say", 4, "4A", "remote"])
    sheet.append([1002, "Mùa A Chá", 5.0, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    response = await _import(scene, buffer.getvalue(), "hs.xlsx")
    assert response.status_code == 201, response.text
    rows = await db.fetch(
        "SELECT student_code, full_name, grade, priority FROM students ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("HS-X1", "Giàng Thị Say", 4, ["remote"]),
        ("1002", "Mùa A Chá", 5, []),
    ]
    sheet.append(["HS-X3", "Bad", 14])
    buffer = io.BytesIO()
    book.save(buffer)
    body = assert_problem(
        await _import(scene, buffer.getvalue(), "again.xlsx", school=scene.school_b,
                      caller=scene.staff_b),
        422,
    )  # fmt: skip
    assert {(e["row"], e["field"]) for e in body["errors"]} == {(4, "grade")}
    assert (
        await db.fetchval("SELECT count(*) FROM students WHERE school_id = $1", scene.school_b) == 0
    )


async def test_only_the_school_staff_import(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    for caller, status in (
        (scene.officer, 403),
        (scene.donor, 403),
        (scene.staff_b, 404),
        (scene.officer_other, 404),
    ):
        assert_problem(await _import(scene, CSV_OK.encode(), "hs.csv", caller=caller), status)
    assert await db.fetchval("SELECT count(*) FROM students") == 0


async def test_move_a_student_to_another_school(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    both = await factory.staff(scene.school_a, scene.school_b)
    student = await scene.student(student_code="HS-M1")
    taken = await scene.student(scene.school_b, student_code="HS-B1")
    url = f"{API}/students/{student['id']}/move"
    # Staff of one school only cannot send a student to a school they do not serve.
    assert_problem(
        await client.post(url, headers=scene.staff_a.headers, json={"school_id": scene.school_b}),
        404,
    )
    assert_problem(
        await client.post(url, headers=scene.staff_b.headers, json={"school_id": scene.school_b}),
        404,
    )
    assert_problem(
        await client.post(url, headers=scene.donor.headers, json={"school_id": scene.school_b}),
        403,
    )
    assert_problem(
        await client.post(url, headers=both.headers, json={"school_id": scene.school_a}), 409
    )
    assert_problem(
        await client.post(
            url, headers=both.headers, json={"school_id": scene.school_b, "student_code": "HS-B1"}
        ),
        409,
    )
    # A student holding a device of the school returns it first.
    await scene.consent(student["id"])
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    loan = await scene.lend(tag, student["id"])
    assert_problem(
        await client.post(url, headers=both.headers, json={"school_id": scene.school_b}), 409
    )
    assert (await _row(scene, student["id"]))["school_id"] == scene.school_a
    await client.post(
        f"{API}/assignments/{loan['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": True},
    )
    moved = await client.post(
        url, headers=both.headers, json={"school_id": scene.school_b, "student_code": "HS-B2"}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["school_id"], moved.json()["student_code"]) == (scene.school_b, "HS-B2")
    row = await _row(scene, student["id"])
    assert (row["school_id"], row["student_code"]) == (scene.school_b, "HS-B2")
    # Now B's staff manage the student, and A's no longer see them.
    assert (
        await client.get(f"{API}/students/{student['id']}", headers=scene.staff_b.headers)
    ).json()["full_name"] == student["full_name"]
    assert_problem(
        await client.get(f"{API}/students/{student['id']}", headers=scene.staff_a.headers), 404
    )
    assert taken["id"] != student["id"]


async def test_consents_given_and_withdrawn(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    student = await scene.student(birth_year=2015)
    url = f"{API}/students/{student['id']}/consents"
    h = scene.staff_a.headers
    response = await client.post(
        url,
        headers=h,
        json={
            "given_by": "Lò Văn Pọm",
            "method": "paper",
            "evidence": "scan-0007.pdf",
            "given_at": "2025-09-05",
        },
    )
    assert response.status_code == 201, response.text
    consent = response.json()
    assert (consent["subject"], consent["given_by"], consent["evidence"]) == (
        "guardian",
        "Lò Văn Pọm",
        "scan-0007.pdf",
    )
    assert consent["withdrawn_at"] is None
    read = await client.get(f"{API}/students/{student['id']}", headers=h)
    assert read.json()["has_consent"] is True
    # The child's own consent, from age 7: born 2015, so 7 in 2022.
    for given_at, status in (("2021-12-31", 422), ("2022-01-10", 201)):
        response = await client.post(
            url,
            headers=h,
            json={
                "given_by": "Mai",
                "method": "recorded",
                "given_at": given_at,
                "subject": "child",
            },
        )
        assert response.status_code == status, response.text
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    body = assert_problem(
        await client.post(
            url, headers=h, json={"given_by": "X", "method": "paper", "given_at": future}
        ),
        422,
    )
    assert body["errors"][0]["field"] == "given_at"
    assert_problem(
        await client.post(
            url, headers=h, json={"given_by": "X", "method": "fax", "given_at": "2025-01-01"}
        ),
        400,
    )
    rows = await db.fetch(
        "SELECT subject, given_by, method, evidence, given_at::text, withdrawn_at"
        " FROM consents WHERE student_id = $1 ORDER BY id",
        student["id"],
    )
    assert [tuple(r) for r in rows] == [
        ("guardian", "Lò Văn Pọm", "paper", "scan-0007.pdf", "2025-09-05", None),
        ("child", "Mai", "recorded", None, "2022-01-10", None),
    ]

    withdrawn = await client.post(f"{url}/{consent['id']}/withdraw", headers=h)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_at"] is not None
    again = await client.post(f"{url}/{consent['id']}/withdraw", headers=h)
    assert again.json()["withdrawn_at"] == withdrawn.json()["withdrawn_at"]
    assert await db.fetchval(
        "SELECT withdrawn_at IS NOT NULL FROM consents WHERE id = $1", consent["id"]
    )
    # The child's own consent alone is not the guardian's.
    read = await client.get(f"{API}/students/{student['id']}", headers=h)
    assert read.json()["has_consent"] is False
    listed = await client.get(url, headers=h)
    assert [(c["subject"], c["withdrawn_at"] is None) for c in listed.json()["items"]] == [
        ("guardian", False),
        ("child", True),
    ]
    assert_problem(await client.post(f"{url}/999999/withdraw", headers=h), 404)


async def test_a_child_under_seven_gives_no_consent_of_their_own(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    preschool = await scene.student(grade=0)
    first_grade = await scene.student(grade=1)
    child = {"given_by": "Em", "method": "recorded", "given_at": "2025-09-05", "subject": "child"}
    body = assert_problem(
        await client.post(
            f"{API}/students/{preschool['id']}/consents", headers=scene.staff_a.headers, json=child
        ),
        422,
    )
    assert body["errors"][0]["field"] == "subject"
    response = await client.post(
        f"{API}/students/{first_grade['id']}/consents", headers=scene.staff_a.headers, json=child
    )
    assert response.status_code == 201, response.text
    assert await db.fetchval("SELECT count(*) FROM consents") == 1


async def test_only_the_school_staff_record_consent(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    student = await scene.student()
    consent = await scene.consent(student["id"], given_by="Hà Thị Nga")
    url = f"{API}/students/{student['id']}/consents"
    body = {"given_by": "X", "method": "paper", "given_at": "2025-09-05"}
    for caller, status in (
        (scene.officer, 403),
        (scene.donor, 403),
        (scene.staff_b, 404),
        (scene.officer_other, 404),
    ):
        assert_problem(await client.post(url, headers=caller.headers, json=body), status)
        assert_problem(
            await client.post(f"{url}/{consent['id']}/withdraw", headers=caller.headers), status
        )
    assert await db.fetchval("SELECT count(*) FROM consents WHERE withdrawn_at IS NULL") == 1
    # The officer sees that consent exists, not who gave it.
    listed = await client.get(url, headers=scene.officer.headers)
    assert listed.status_code == 200
    assert [("given_by" in c, "evidence" in c) for c in listed.json()["items"]] == [(False, False)]


async def test_guardian_phones_are_normalised_and_checked(client, db, factory) -> None:

    scene = await make_scene(client, db, factory)
    student = await scene.student(guardian_phone="0912 345 678")
    assert student["guardian_phone"] == "+84912345678"
    refused = await client.post(
        f"{API}/students",
        headers=scene.staff_a.headers,
        json={
            "school_id": scene.school_a,
            "student_code": "HS-PHONE-1",
            "full_name": "Lò Văn Số",
            "grade": 4,
            "guardian_phone": "123",
        },
    )
    body = assert_problem(refused, 422)
    assert body["errors"][0]["field"] == "guardian_phone"
    changed = await client.patch(
        f"{API}/students/{student['id']}",
        headers=scene.staff_a.headers,
        json={"guardian_phone": "84987001122"},
    )
    assert changed.json()["guardian_phone"] == "+84987001122"
    imported = await client.post(
        f"{API}/students/import?school_id={scene.school_a}",
        headers=scene.staff_a.headers,
        files={
            "file": (
                "s.csv",
                b"student_code,full_name,grade,guardian_phone\nHS-P2,A,3,0987654321\nHS-P3,B,3,12\n",
            )
        },
    )
    body = assert_problem(imported, 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "guardian_phone")]


async def test_a_student_holding_a_device_cannot_be_marked_as_left(client, db, factory) -> None:

    scene = await make_scene(client, db, factory)
    (tag,) = tags = await scene.tablets(1)
    await scene.at_school(tags)
    student = await scene.consenting_student()
    loan = await scene.lend(tag, student)
    url = f"{API}/students/{student}"
    body = assert_problem(
        await client.patch(url, headers=scene.staff_a.headers, json={"status": "left"}), 409
    )
    assert "take them back" in body["detail"]
    await client.post(
        f"{API}/assignments/{loan['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": True},
    )
    left = await client.patch(url, headers=scene.staff_a.headers, json={"status": "left"})
    assert left.status_code == 200 and left.json()["status"] == "left"


async def test_names_are_found_without_their_diacritics(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    pao = await scene.student(full_name="Sùng A Páo")
    await scene.student(full_name="Giàng Thị Dung")
    import unicodedata

    # Typed decomposed (NFD), as some keyboards send it: stored composed, found either way.
    decomposed = await scene.student(full_name=unicodedata.normalize("NFD", "Mùa Thị Dợ"))
    stored = await db.fetchval("SELECT full_name FROM students WHERE id = $1", decomposed["id"])
    assert stored == unicodedata.normalize("NFC", "Mùa Thị Dợ")
    await db.execute(  # and a name already stored decomposed is still found
        "UPDATE students SET full_name = $2 WHERE id = $1",
        decomposed["id"],
        unicodedata.normalize("NFD", "Mùa Thị Dợ"),
    )
    listed = await client.get(
        f"{API}/students",
        params={"school": scene.school_a, "q": "mua thi do"},
        headers=scene.staff_a.headers,
    )
    assert [s["id"] for s in listed.json()["items"]] == [decomposed["id"]]
    for q in ("sung", "SÙNG", "a pao", "Páo"):
        listed = await client.get(
            f"{API}/students",
            params={"school": scene.school_a, "q": q},
            headers=scene.staff_a.headers,
        )
        assert [s["id"] for s in listed.json()["items"]] == [pao["id"]], q
    for q in ("%", "_"):  # LIKE's characters are literal
        listed = await client.get(
            f"{API}/students",
            params={"school": scene.school_a, "q": q},
            headers=scene.staff_a.headers,
        )
        assert listed.json()["items"] == [], q
    # Schools too: "nam po" finds "Trường Nậm Pồ".
    await db.execute(
        "UPDATE schools SET name = 'Trường PTDTBT Nậm Pồ' WHERE id = $1", scene.school_a
    )
    schools = await client.get(
        f"{API}/schools", params={"q": "nam po"}, headers=scene.officer.headers
    )
    assert [s["id"] for s in schools.json()["items"]] == [scene.school_a]

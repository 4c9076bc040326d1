"""What a first week at a school showed (issue #14, items 1, 2 and 6), through the pages
and the API against the real database: receiving keeps every line, audits tell lent
devices from missing ones, and the students' pages fix names, show due dates, list late
loans and hand the family a readable PDF."""

from __future__ import annotations

import io
from datetime import timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from devicetrack.web.i18n import Translator
from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, form


def _json_headers(caller) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return browser(caller) | {"X-CSRF-Token": form(caller)["_csrf"]}


def _typo(tag: str) -> str:
    return tag[:-1] + ("0" if tag[-1] != "0" else "1")


# ---- 1. receiving ---------------------------------------------------------------------


async def test_the_receive_box_receives_every_line_it_is_given(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.allocate(tags)
    url = f"/schools/{scene.school_a}/receive"
    page = await web.get(url, headers=browser(scene.staff_a))
    assert all(f'data-tag="{t}"' in page.text for t in tags)
    assert "data-waiting-count>4<" in page.text
    # The box as the page sends it at Enter: every line, two tags pasted on one of them
    # (a spreadsheet row), one typed in lower case with spaces, a typo and a stray word.
    lines = [f"{tags[0]}  {tags[1]}", tags[2].lower().replace("-", " "), _typo(tags[3]), "hello"]
    answer = await web.post(
        f"{url}.json", json={"asset_tags": lines}, headers=_json_headers(scene.staff_a)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert sorted(body["received"]) == sorted(tags[:3])
    assert [d["asset_tag"] for d in body["discrepancies"]] == [_typo(tags[3]), "hello"]
    assert "did you mean" in body["discrepancies"][0]["reason"]
    statuses = dict(await db.fetch("SELECT asset_tag, status FROM devices"))
    assert statuses == {tags[0]: "at_school", tags[1]: "at_school", tags[2]: "at_school",
                        tags[3]: "allocated"}  # fmt: skip
    # The list of what is still to come has only the fourth left.
    after = await web.get(url, headers=browser(scene.staff_a))
    assert f'data-tag="{tags[3]}"' in after.text
    assert not any(f'data-tag="{t}"' in after.text for t in tags[:3])
    assert "data-waiting-count>1<" in after.text

    # Without JavaScript the form's answer lists what was received, not only a count.
    done = await web.post(
        url, data=form(scene.staff_a, tags=f"{tags[3]}\n{tags[0]}"), headers=browser(scene.staff_a)
    )
    assert done.status_code == 200
    received_list = done.text.split("data-received-list", 1)[1].split("</ul>", 1)[0]
    assert tags[3] in received_list and tags[0] not in received_list
    problems = done.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert tags[0] in problems  # received before: named, with its reason


# ---- 2. audits --------------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def _audit_with_two_lent(client, db, factory):  # type: ignore[no-untyped-def]
    """Four tablets at school A, two of them lent (one due back in a month); an audit
    started by the school's staff."""
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.at_school(tags)
    due = local_today() + timedelta(days=30)
    students = []
    for tag, values in ((tags[2], {"due_back_on": due.isoformat()}), (tags[3], {})):
        student = await scene.student(full_name="Giàng Thị Pằng Qxj")
        await scene.consent(student["id"])
        await scene.lend(tag, student["id"], **values)
        students.append(student)
    started = await client.post(
        "/api/v1/audits", headers=scene.staff_a.headers, json={"school_id": scene.school_a}
    )
    assert started.status_code == 201, started.text
    return scene, tags, students, due, started.json()


async def test_an_audit_counts_lent_devices_as_on_loan_not_missing(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, tags, students, due, audit = await _audit_with_two_lent(client, db, factory)
    url = f"/api/v1/audits/{audit['id']}"
    assert (audit["expected"], audit["missing"], audit["on_loan"]) == (4, 2, 2)
    scanned = await client.post(
        f"{url}/scans", headers=scene.staff_a.headers, json={"scans": [{"code": tags[0]}]}
    )
    body = scanned.json()
    assert (body["found_so_far"], body["missing_so_far"], body["on_loan_so_far"]) == (1, 1, 2)
    closed = await client.post(f"{url}/close", headers=scene.staff_a.headers)
    assert closed.status_code == 200, closed.text
    result = closed.json()
    assert (result["found"], result["missing"], result["on_loan"]) == (1, 1, 2)
    assert [m["asset_tag"] for m in result["result"]["missing"]] == [tags[1]]
    assert result["result"]["on_loan"] == [
        {
            "asset_tag": tags[2],
            "kind": "tablet",
            "due_back_on": due.isoformat(),
            "student_id": students[0]["id"],
            "student_code": students[0]["student_code"],
        },
        {
            "asset_tag": tags[3],
            "kind": "tablet",
            "student_id": students[1]["id"],
            "student_code": students[1]["student_code"],
        },
    ]
    # The school's records: the lent ones on lines of their own, never as missing.
    csv_text = (await client.get(f"{url}?format=csv", headers=scene.staff_a.headers)).text
    assert csv_text.count("missing,") == 1 and f"missing,{tags[1]}," in csv_text
    assert f"on_loan,{tags[2]},tablet,assigned,{students[0]['student_code']} due {due}" in csv_text
    pdf = await client.get(f"{url}?format=pdf", headers=scene.staff_a.headers)
    text = _pdf_text(pdf.content)
    on_loan = text.split("On loan (confirm with the student)", 1)[1]
    assert tags[2] in on_loan and tags[3] in on_loan and f"{due:%d/%m/%Y}" in on_loan
    assert "Thiếu / missing: 1" in text and "on loan: 2" in text
    # Marking the missing ones lost leaves the lent ones with their students.
    marked = await client.post(f"{url}/mark-missing-lost", headers=scene.officer.headers)
    assert marked.json()["marked_lost"] == [tags[1]]
    statuses = dict(await db.fetch("SELECT asset_tag, status FROM devices"))
    assert [statuses[t] for t in tags] == ["at_school", "lost", "assigned", "assigned"]


async def test_who_has_a_lent_device_reaches_only_the_schools_staff_and_admins(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, tags, students, _, audit = await _audit_with_two_lent(client, db, factory)
    url = f"/api/v1/audits/{audit['id']}"
    await client.post(f"{url}/scans", headers=scene.staff_a.headers, json={"code": tags[0]})
    await client.post(f"{url}/close", headers=scene.staff_a.headers)
    codes = [s["student_code"] for s in students]
    for caller in (scene.staff_a, scene.admin):
        read = (await client.get(url, headers=caller.headers)).json()
        assert [o["student_code"] for o in read["result"]["on_loan"]] == codes, caller.role
    # The province officer reads the group (tag, kind, due date), never who has them.
    officer = await client.get(url, headers=scene.officer.headers)
    assert officer.status_code == 200
    on_loan = officer.json()["result"]["on_loan"]
    assert [o["asset_tag"] for o in on_loan] == tags[2:]
    assert all(set(o) <= {"asset_tag", "kind", "due_back_on"} for o in on_loan), on_loan
    for fmt in ("csv", "pdf"):
        answer = await client.get(f"{url}?format={fmt}", headers=scene.officer.headers)
        assert answer.status_code == 200
        text = _pdf_text(answer.content) if fmt == "pdf" else answer.text
        assert tags[2] in text and not any(code in text for code in codes), fmt
        assert "Qxj" not in text
    for caller, status in (
        (scene.officer_other, 404),
        (scene.staff_b, 404),
        (scene.donor, 404),
    ):
        refused = await client.get(url, headers=caller.headers)
        assert refused.status_code == status, (caller.role, refused.text)
        assert not any(code in refused.text for code in codes)


async def test_each_scan_of_a_batch_comes_back_with_its_outcome(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, tags, _, _, audit = await _audit_with_two_lent(client, db, factory)
    sent = await client.post(
        f"/api/v1/audits/{audit['id']}/scans",
        headers=scene.staff_a.headers,
        json={"scans": [{"code": tags[0].lower()}, {"code": _typo(tags[1])}, {"code": "ABC-9"},
                        {"code": tags[3]}]},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    entries = sent.json()["entries"]
    assert [(e["index"], e["outcome"], e["code"]) for e in entries] == [
        (0, "found", tags[0]),
        (1, "rejected", _typo(tags[1])),
        (2, "unexpected", "ABC-9"),
        (3, "found", tags[3]),  # a student brought the lent one in
    ]
    assert "did you mean" in entries[1]["message"]
    assert sent.json()["on_loan_so_far"] == 1


async def test_the_audit_page_shows_what_is_still_expected_and_asks_before_closing(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, tags, students, due, audit = await _audit_with_two_lent(client, db, factory)
    url = f"/audits/{audit['id']}"
    page = await web.get(url, headers=browser(scene.staff_a))
    assert page.status_code == 200
    to_find, on_loan = page.text.split("data-still")[1:3]
    assert all(f'data-tag="{t}"' in to_find for t in tags[:2])
    assert all(f'data-tag="{t}"' in on_loan for t in tags[2:])
    assert students[0]["student_code"] in on_loan and f"/students/{students[0]['id']}" in on_loan
    assert "On loan — confirm with the student or skip" in page.text
    # An officer's page shows the lent devices but not who has them.
    officer = await web.get(url, headers=browser(scene.officer))
    assert tags[2] in officer.text and students[0]["student_code"] not in officer.text
    # Translated for the Vietnamese reader.
    vi = await web.get(url, headers=browser(scene.staff_a, "vi"))
    assert "Học sinh đang mượn" in vi.text

    scanned = await web.post(
        f"{url}/scan", data=form(scene.staff_a, code=tags[0]), headers=browser(scene.staff_a)
    )
    assert scanned.status_code == 303
    page = await web.get(url, headers=browser(scene.staff_a))
    to_find = page.text.split("data-still")[1]
    assert f'data-tag="{tags[0]}"' not in to_find and f'data-tag="{tags[1]}"' in to_find

    asked = await web.post(f"{url}/close", data=form(scene.staff_a), headers=browser(scene.staff_a))
    assert asked.status_code == 200
    missing = asked.text.split("data-will-be-missing", 1)[1].split("</ul>", 1)[0]
    lent = asked.text.split("data-will-be-on-loan", 1)[1].split("</ul>", 1)[0]
    assert tags[1] in missing and tags[2] not in missing and tags[3] not in missing
    assert tags[2] in lent and tags[3] in lent
    assert await db.fetchval("SELECT closed_at FROM audits WHERE id = $1", audit["id"]) is None
    closed = await web.post(
        f"{url}/close", data=form(scene.staff_a, confirm="1"), headers=browser(scene.staff_a)
    )
    assert closed.status_code == 303
    result = await web.get(url, headers=browser(scene.staff_a))
    missing = result.text.split("data-missing-list", 1)[1].split("</ul>", 1)[0]
    lent = result.text.split("data-on-loan-list", 1)[1].split("</ul>", 1)[0]
    assert tags[1] in missing and tags[2] not in missing
    assert tags[2] in lent and tags[3] in lent and Translator("en").date(due) in lent


def test_audits_closed_before_keep_their_lent_devices_out_of_missing(pg_server: str) -> None:
    """0018 moves the lent devices of results stored before it out of `missing`, in the
    shape the service writes; its downgrade puts them back."""
    import asyncio
    import json

    from devicetrack.db import migrate
    from tests.database import asyncpg_dsn, scratch_database

    legacy = {
        "found": [],
        "unexpected": [],
        "missing": [
            {"asset_tag": "DT11-000001-0", "kind": "tablet", "status": "at_school",
             "student_code": None},
            {"asset_tag": "DT11-000002-8", "kind": "tablet", "status": "assigned",
             "student_code": "HS-7"},
        ],
    }  # fmt: skip

    async def run(sql: str, *args: object) -> object:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    with scratch_database(pg_server) as url:
        migrate.upgrade(url, "0015")
        school = asyncio.run(
            run(
                "INSERT INTO schools (code, name, province_code, commune_code, levels)"
                " SELECT 'M18', 'Trường M', '11', code, ARRAY['primary'] FROM communes"
                " WHERE province_code = '11' LIMIT 1 RETURNING id"
            )
        )
        audit = asyncio.run(
            run(
                "INSERT INTO audits (school_id, closed_at, result) VALUES ($1, now(), $2)"
                " RETURNING id",
                school,
                json.dumps(legacy),
            )
        )
        migrate.upgrade(url)
        moved = json.loads(str(asyncio.run(run("SELECT result FROM audits WHERE id = $1", audit))))
        assert moved["missing"] == legacy["missing"][:1]
        assert moved["on_loan"] == [
            {"asset_tag": "DT11-000002-8", "kind": "tablet", "student_code": "HS-7"}
        ]
        migrate.downgrade(url, "0015")
        back = json.loads(str(asyncio.run(run("SELECT result FROM audits WHERE id = $1", audit))))
        assert back == legacy


# ---- 6. students ------------------------------------------------------------------------


async def test_the_edit_form_fixes_a_misspelled_name_and_the_priority_flags(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    student = (await scene.student(full_name="Lò Thi Maj", priority=["poor_household"]))["id"]
    url, staff = f"/students/{student}", browser(scene.staff_a)
    page = await web.get(url, headers=staff)
    assert 'name="full_name"' in page.text and 'value="Lò Thi Maj"' in page.text
    assert 'value="poor_household" checked' in page.text
    assert 'value="remote">' in page.text  # an unticked flag to tick

    async def stored() -> tuple[str, list[str]]:
        row = await db.fetchrow("SELECT full_name, priority FROM students WHERE id = $1", student)
        return row["full_name"], list(row["priority"])

    fixed = await web.post(
        f"{url}/edit",
        data=form(
            scene.staff_a,
            full_name="Lò Thị Mai",
            priority=["remote", "ethnic_minority"],
            priority_shown="1",
        ),
        headers=staff,
    )
    assert fixed.status_code == 303, fixed.text
    assert await stored() == ("Lò Thị Mai", ["ethnic_minority", "remote"])
    # Unticking every box clears the flags; a name cannot be emptied.
    cleared = await web.post(
        f"{url}/edit", data=form(scene.staff_a, priority_shown="1"), headers=staff
    )
    assert cleared.status_code == 303
    assert await stored() == ("Lò Thị Mai", [])
    emptied = await web.post(
        f"{url}/edit",
        data=form(scene.staff_a, full_name=" ", priority=["disability"], priority_shown="1"),
        headers=staff,
    )
    assert emptied.status_code == 422
    assert 'value="disability" checked' in emptied.text  # the form again, as ticked
    assert await stored() == ("Lò Thị Mai", [])
    # Another school's staff cannot rename the student.
    other = await web.post(
        f"{url}/edit", data=form(scene.staff_b, full_name="X"), headers=browser(scene.staff_b)
    )
    assert other.status_code == 404 and (await stored())[0] == "Lò Thị Mai"
    # In Vietnamese the grade is "Khối", beside the class, "Lớp".
    vi = await web.get(url, headers=browser(scene.staff_a, "vi"))
    assert '<label for="egrade">Khối</label>' in vi.text
    assert '<label for="eclass">Lớp</label>' in vi.text and "Lớp (khối)" not in vi.text


async def _loans(scene):  # type: ignore[no-untyped-def]
    """Three tablets lent at school A: one due in ten days, one three days late (its due
    date moved back in SQL: a loan cannot be made late through the API), one without a
    due date."""
    tags = await scene.tablets(3)
    await scene.at_school(tags)
    soon = local_today() + timedelta(days=10)
    names = ["Hờ A Dính", "Sùng Thị Dợ", "Mùa A Sử"]
    students, loans = [], []
    for tag, name, due in zip(tags, names, (soon, local_today(), None), strict=True):
        student = await scene.student(full_name=name, class_name="5A")
        await scene.consent(student["id"])
        values = {"due_back_on": due.isoformat()} if due else {}
        loans.append(await scene.lend(tag, student["id"], **values))
        students.append(student)
    late = local_today() - timedelta(days=3)
    await scene.db.execute(
        "UPDATE assignments SET due_back_on = $1 WHERE id = $2", late, loans[1]["id"]
    )
    return tags, students, loans, soon, late


async def test_due_dates_are_shown_and_the_school_lists_its_late_loans(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags, students, loans, soon, late = await _loans(scene)
    en = Translator("en")
    # The due date, asked for when lending, is shown where the loan is.
    student_page = await web.get(f"/students/{students[0]['id']}", headers=browser(scene.staff_a))
    assert f"due back {en.date(soon)}" in student_page.text
    device_page = await web.get(f"/devices/{tags[0]}", headers=browser(scene.staff_a))
    assert f"due back {en.date(soon)}" in device_page.text

    api = f"/api/v1/schools/{scene.school_a}/loans"
    overdue = await client.get(f"{api}?overdue=true", headers=scene.staff_a.headers)
    assert overdue.status_code == 200, overdue.text
    (item,) = overdue.json()["items"]
    assert item == {
        "id": loans[1]["id"],
        "school_id": scene.school_a,
        "asset_tag": tags[1],
        "device_kind": "tablet",
        "assigned_at": item["assigned_at"],
        "due_back_on": late.isoformat(),
        "overdue": True,
        "days_overdue": 3,
        "student_id": students[1]["id"],
        "student_code": students[1]["student_code"],
        "student_name": "Sùng Thị Dợ",
        "grade": 5,
        "class_name": "5A",
    }
    # Every loan out, a page at a time, as other lists are.
    first = (await client.get(f"{api}?limit=2", headers=scene.staff_a.headers)).json()
    rest = await client.get(
        f"{api}?limit=2&cursor={first['next_cursor']}", headers=scene.staff_a.headers
    )
    assert [i["asset_tag"] for i in first["items"] + rest.json()["items"]] == tags
    assert rest.json()["next_cursor"] is None
    assert [i.get("due_back_on") for i in first["items"]] == [soon.isoformat(), late.isoformat()]
    # The names shown are reads of the students, in their access log.
    logged = await db.fetch(
        "SELECT student_id FROM student_access_log WHERE route = $1", f"GET {api}"
    )
    ids = [s["id"] for s in students]
    assert sorted(r["student_id"] for r in logged) == sorted([*ids, ids[1]])  # 3 lists read

    page = await web.get(
        f"/schools/{scene.school_a}/loans?overdue=1", headers=browser(scene.staff_a)
    )
    assert page.status_code == 200
    listed = page.text.split("data-loans", 1)[1].split("</ul>", 1)[0]
    assert tags[1] in listed and "Sùng Thị Dợ" in listed and "3 days overdue" in listed
    assert tags[0] not in listed and tags[2] not in listed
    everything = await web.get(f"/schools/{scene.school_a}/loans", headers=browser(scene.staff_a))
    listed = everything.text.split("data-loans", 1)[1].split("</ul>", 1)[0]
    assert all(t in listed for t in tags) and f"due back {en.date(soon)}" in listed
    school = await web.get(f"/schools/{scene.school_a}", headers=browser(scene.staff_a))
    assert f'href="/schools/{scene.school_a}/loans?overdue=1"' in school.text
    vi = await web.get(
        f"/schools/{scene.school_a}/loans?overdue=1", headers=browser(scene.staff_a, "vi")
    )
    assert "quá hạn 3 ngày" in vi.text and "Mượn quá hạn" in vi.text


async def test_late_loans_name_no_student_to_officers_or_donors(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags, students, _, _, _ = await _loans(scene)
    identities = [s["student_code"] for s in students] + ["Dính", "Dợ", "Sử"]
    api = f"/api/v1/schools/{scene.school_a}/loans"
    before = await db.fetchval("SELECT count(*) FROM student_access_log")
    for query in ("", "?overdue=true"):
        officer = await client.get(f"{api}{query}", headers=scene.officer.headers)
        assert officer.status_code == 200, officer.text
        items = officer.json()["items"]
        assert [i["asset_tag"] for i in items] == (tags if not query else [tags[1]])
        assert not any(k.startswith("student") or k in ("grade", "class_name") for i in items
                       for k in i)  # fmt: skip
        assert not any(x in officer.text for x in identities)
    page = await web.get(f"/schools/{scene.school_a}/loans", headers=browser(scene.officer))
    assert page.status_code == 200 and tags[1] in page.text
    assert not any(x in page.text for x in identities)
    assert await db.fetchval("SELECT count(*) FROM student_access_log") == before  # no reads
    for caller in (scene.donor, scene.officer_other, scene.staff_b):
        refused = await client.get(f"{api}?overdue=true", headers=caller.headers)
        assert refused.status_code in (403, 404), (caller.role, refused.text)
        assert not any(x in refused.text for x in identities + tags)
        page = await web.get(f"/schools/{scene.school_a}/loans", headers=browser(caller))
        assert page.status_code in (403, 404) and not any(x in page.text for x in identities)


async def test_the_family_gets_a_readable_pdf_in_their_language(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.student(
        full_name="Vàng Thị Dung",
        class_name="7A",
        grade=7,
        priority=["ethnic_minority"],
        guardian_name="Vàng A Páo",
    )
    await scene.consent(student["id"], given_by="Vàng A Páo", given_at="2025-09-05")
    due = local_today() + timedelta(days=20)
    await scene.lend(tag, student["id"], due_back_on=due.isoformat())
    url = f"/students/{student['id']}/export"

    answer = await web.get(url, headers=browser(scene.staff_a, "vi"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].endswith(f'student-{student["id"]}.pdf"')
    text = _pdf_text(answer.content)
    for expected in (
        "Toàn bộ dữ liệu về học sinh",
        "Họ và tên: Vàng Thị Dung",
        "Khối: 7",
        "Lớp: 7A",
        "Dân tộc thiểu số",  # the flag as a word, not its code
        "05/09/2025 · Giấy · Phụ huynh",  # the consent, on Vietnam's calendar
        f"{tag} · Máy tính bảng",
        f"hạn trả {due:%d/%m/%Y}",
        "Những ai đã xem dữ liệu cá nhân của học sinh",
        f"GET {url}",  # this download's own read, logged before the log is printed
    ):
        assert expected in text, (expected, text)
    for code in ("full_name", "ethnic_minority", "guardian_name", "Everything held"):
        assert code not in text, code
    assert await db.fetchval(
        "SELECT count(*) FROM student_access_log WHERE route = $1", f"GET {url}"
    ) == 1  # fmt: skip
    english = _pdf_text((await web.get(url, headers=browser(scene.staff_a, "en"))).content)
    assert "Everything held about a student" in english and "Full name: Vàng Thị Dung" in english
    # Only the school's staff and admins download it; the API keeps its JSON.
    assert (await web.get(url, headers=browser(scene.admin))).status_code == 200
    for caller, status in ((scene.officer, 403), (scene.staff_b, 404), (scene.donor, 403)):
        refused = await web.get(url, headers=browser(caller))
        assert refused.status_code == status, caller.role
        assert "Vàng Thị Dung" not in refused.text
    api = await client.get(f"/api/v1{url}", headers=scene.staff_a.headers)
    assert api.headers["content-type"].startswith("application/json")
    assert api.json()["student"]["full_name"] == "Vàng Thị Dung"


async def test_a_device_found_by_a_later_audit_is_not_marked_lost_by_the_earlier(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """An audit's missing devices are marked lost only if nobody has seen them since it
    closed: a later audit found one, so the older audit's list no longer speaks for it."""
    scene, tags, _, _, audit = await _audit_with_two_lent(client, db, factory)
    url = f"/api/v1/audits/{audit['id']}"
    await client.post(f"{url}/scans", headers=scene.staff_a.headers, json={"code": tags[0]})
    assert (await client.post(f"{url}/close", headers=scene.staff_a.headers)).status_code == 200
    later = (
        await client.post(
            "/api/v1/audits", headers=scene.staff_a.headers, json={"school_id": scene.school_a}
        )
    ).json()["id"]
    found = await client.post(
        f"/api/v1/audits/{later}/scans", headers=scene.staff_a.headers, json={"code": tags[1]}
    )
    assert found.status_code in (200, 201), found.text
    marked = await client.post(f"{url}/mark-missing-lost", headers=scene.officer.headers)
    assert marked.status_code == 200, marked.text
    assert marked.json() == {"marked_lost": [], "skipped": [tags[1]]}
    status = await db.fetchval("SELECT status FROM devices WHERE asset_tag = $1", tags[1])
    assert status == "at_school"

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

"""The administration pages for the registers, through the pages with their CSRF tokens:
an officer adds, edits, deactivates and imports schools of their province, enters and
imports its enrolments per school year, adds and edits donors; another province's schools
answer "not found" and stay as they were, a donor giving elsewhere is an admin's to edit."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import DIEN_BIEN, LAI_CHAU, Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, form


async def _post(web: AsyncTestClient, caller, url: str, **values):  # type: ignore[no-untyped-def]
    return await web.post(url, data=form(caller, **values), headers=browser(caller))


async def _upload(web: AsyncTestClient, caller, url: str, content: bytes, **values):  # type: ignore[no-untyped-def]
    return await web.post(
        url,
        data=form(caller, **values),
        files={"file": ("list.csv", content, "text/csv")},
        headers=browser(caller),
    )


async def test_an_officer_keeps_the_schools_of_their_province(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    officer = scene.officer
    commune = await factory.commune(DIEN_BIEN, 3)
    commune_elsewhere = await factory.commune(LAI_CHAU, 1)

    listed = await web.get("/admin/schools", headers=browser(officer))
    assert listed.status_code == 200
    assert f'href="/admin/schools/{scene.school_a}"' in listed.text
    assert f'href="/admin/schools/{scene.school_c}"' not in listed.text
    assert f'value="{commune}"' in listed.text  # the add form offers the province's communes

    added = await _post(
        web,
        officer,
        "/admin/schools",
        code="30100999",
        name="Trường PTDTBT TH Mường Phăng",
        commune_code=commune,
        levels=["primary", "lower_secondary"],
        address="Bản Phăng, xã Mường Phăng",
    )
    assert added.status_code == 303, added.text
    school = await db.fetchrow("SELECT * FROM schools WHERE code = '30100999'")
    assert added.headers["location"].startswith(f"/admin/schools/{school['id']}?done=")
    assert (school["province_code"], school["commune_code"]) == (DIEN_BIEN, commune)
    assert school["levels"] == ["lower_secondary", "primary"] and school["active"]

    elsewhere = await _post(
        web,
        officer,
        "/admin/schools",
        code="30100998",
        name="Trường khác",
        commune_code=commune_elsewhere,
    )
    assert elsewhere.status_code == 403
    assert "You manage schools of your own province only." in elsewhere.text
    duplicate = await _post(
        web, officer, "/admin/schools", code="30100999", name="Trùng mã", commune_code=commune
    )
    assert duplicate.status_code == 409 and 'value="Trùng mã"' in duplicate.text
    assert await db.fetchval("SELECT count(*) FROM schools WHERE code LIKE '3010099%'") == 1

    edited = await _post(
        web,
        officer,
        f"/admin/schools/{school['id']}",
        name="Trường PTDTBT TH&THCS Mường Phăng",
        commune_code=commune,
        levels="primary",
        address="",
    )
    assert edited.status_code == 303, edited.text
    row = await db.fetchrow("SELECT * FROM schools WHERE id = $1", school["id"])
    # An emptied address is cleared, as a PATCH's null clears it.
    assert (row["name"], row["levels"], row["address"]) == (
        "Trường PTDTBT TH&THCS Mường Phăng",
        ["primary"],
        None,
    )
    off = await _post(web, officer, f"/admin/schools/{school['id']}/active", active="0")
    assert off.status_code == 303
    assert await db.fetchval("SELECT active FROM schools WHERE id = $1", school["id"]) is False
    on = await _post(web, officer, f"/admin/schools/{school['id']}/active", active="1")
    assert on.status_code == 303
    assert await db.fetchval("SELECT active FROM schools WHERE id = $1", school["id"]) is True

    # Another province's officer: not found, and nothing changes.
    before = await db.fetchrow("SELECT * FROM schools WHERE id = $1", scene.school_a)
    other = scene.officer_other
    assert (
        await web.get(f"/admin/schools/{scene.school_a}", headers=browser(other))
    ).status_code == 404
    for url, values in (
        (
            f"/admin/schools/{scene.school_a}",
            {"name": "Đổi", "commune_code": before["commune_code"]},
        ),
        (f"/admin/schools/{scene.school_a}/active", {"active": "0"}),
    ):
        response = await _post(web, other, url, **values)
        assert response.status_code == 404, (url, response.status_code)
    assert await db.fetchrow("SELECT * FROM schools WHERE id = $1", scene.school_a) == before
    # The school's own staff see the school, but do not edit the registry.
    staff = await web.get(f"/admin/schools/{scene.school_a}", headers=browser(scene.staff_a))
    assert staff.status_code == 403


async def test_schools_imported_from_a_sheet_all_or_nothing(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    here = [await factory.commune(DIEN_BIEN, i) for i in (1, 2)]
    there = await factory.commune(LAI_CHAU, 0)
    good = (
        "mã trường,tên trường,mã xã,cấp học,năm học,số học sinh\n"
        f"40100001,Trường TH Na Son,{here[0]},primary,2025-2026,312\n"
        f"40100002,Trường THCS Na Son,{here[1]},lower_secondary,,\n"
    ).encode()
    imported = await _upload(web, scene.officer, "/admin/schools/import", good)
    assert imported.status_code == 303, imported.text
    assert "n=2" in imported.headers["location"]
    assert await db.fetchval("SELECT count(*) FROM schools WHERE code LIKE '401000%'") == 2
    assert (
        await db.fetchval(
            """SELECT students_total FROM enrolments e JOIN schools s ON s.id = e.school_id
            WHERE s.code = '40100001' AND school_year = '2025-2026'"""
        )
        == 312
    )
    bad = (
        f"mã trường,tên trường,mã xã\n40100003,Trường A,{here[0]}\n40100004,Trường B,{there}\n"
    ).encode()
    refused = await _upload(web, scene.officer, "/admin/schools/import", bad)
    assert refused.status_code == 422
    assert "outside your province" in refused.text
    assert (
        await db.fetchval("SELECT count(*) FROM schools WHERE code IN ('40100003', '40100004')")
        == 0
    )


async def test_enrolments_per_year_entered_and_imported(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    officer = scene.officer
    codes = {
        s: await db.fetchval("SELECT code FROM schools WHERE id = $1", s)
        for s in (scene.school_a, scene.school_b, scene.school_c)
    }
    year = "2025-2026"

    listed = await web.get(f"/admin/enrolments?year={year}", headers=browser(officer))
    assert listed.status_code == 200
    assert f'action="/admin/enrolments/{scene.school_a}"' in listed.text
    assert f'action="/admin/enrolments/{scene.school_c}"' not in listed.text

    saved = await _post(
        web,
        officer,
        f"/admin/enrolments/{scene.school_a}",
        school_year=year,
        students_total="412",
        priority_students="130",
    )
    assert saved.status_code == 303, saved.text
    row = await db.fetchrow(
        "SELECT * FROM enrolments WHERE school_id = $1 AND school_year = $2", scene.school_a, year
    )
    assert (row["students_total"], row["priority_students"]) == (412, 130)
    shown = await web.get(saved.headers["location"], headers=browser(officer))
    assert 'value="412"' in shown.text

    too_many = await _post(
        web,
        officer,
        f"/admin/enrolments/{scene.school_a}",
        school_year=year,
        students_total="100",
        priority_students="130",
    )
    assert too_many.status_code == 422
    assert "Priority students cannot exceed the total." in too_many.text
    assert 'value="100"' in too_many.text  # the row keeps what was typed
    foreign = await _post(
        web, officer, f"/admin/enrolments/{scene.school_c}", school_year=year, students_total="5"
    )
    assert foreign.status_code == 404
    assert await db.fetchval("SELECT count(*) FROM enrolments") == 1

    sheet = (
        "mã trường,số học sinh,học sinh ưu tiên\n"
        f"{codes[scene.school_a]},420,131\n"
        f"{codes[scene.school_b]},250,40\n"
    ).encode()
    imported = await _upload(
        web, officer, "/admin/enrolments/import", sheet, school_year="2026-2027"
    )
    assert imported.status_code == 303, imported.text
    rows = await db.fetch(
        """SELECT school_id, students_total FROM enrolments
            WHERE school_year = '2026-2027' ORDER BY school_id"""
    )
    assert [(r["school_id"], r["students_total"]) for r in rows] == [
        (scene.school_a, 420),
        (scene.school_b, 250),
    ]
    elsewhere = (
        "mã trường,số học sinh,năm học\n"
        f"{codes[scene.school_a]},1,2027-2028\n"
        f"{codes[scene.school_c]},2,2027-2028\n"
    ).encode()
    refused = await _upload(web, officer, "/admin/enrolments/import", elsewhere)
    assert refused.status_code == 422
    assert "no school with this code" in refused.text
    assert await db.fetchval("SELECT count(*) FROM enrolments WHERE school_year = '2027-2028'") == 0


async def test_donors_added_and_edited_by_their_keepers(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    officer = scene.officer

    added = await _post(
        web,
        officer,
        "/admin/donors",
        name="Quỹ Học bổng Vừ A Dính",
        short_name="Quỹ VAD",
        kind="foundation",
        contact_email="lienhe@vad.org.vn",
        country="vn",
    )
    assert added.status_code == 303, added.text
    donor = await db.fetchrow("SELECT * FROM donors WHERE short_name = 'Quỹ VAD'")
    assert (donor["kind"], donor["country"], donor["contact_email"]) == (
        "foundation",
        "VN",
        "lienhe@vad.org.vn",
    )
    listed = await web.get("/admin/donors?kind=foundation", headers=browser(officer))
    assert "Quỹ Học bổng Vừ A Dính" in listed.text
    duplicate = await _post(
        web, officer, "/admin/donors", name="Quỹ Học bổng Vừ A Dính", short_name="X", kind="company"
    )
    assert duplicate.status_code == 409

    # The scene's donor gives in Điện Biên only: its officer edits it, Lai Châu's may not.
    edit = f"/admin/donors/{scene.donor_id}"
    values = {"name": "Tập đoàn Viettel", "short_name": "Viettel", "kind": "telecom"}
    assert (await _post(web, scene.officer_other, edit, **values)).status_code == 403
    assert (await web.get(edit, headers=browser(scene.officer_other))).status_code == 403
    saved = await _post(web, officer, edit, **values)
    assert saved.status_code == 303, saved.text
    row = await db.fetchrow("SELECT * FROM donors WHERE id = $1", scene.donor_id)
    assert (row["name"], row["kind"]) == ("Tập đoàn Viettel", "telecom")
    # The donor itself keeps its record through its own pages, not the register's.
    assert (await _post(web, scene.donor, edit, **values | {"name": "Khác"})).status_code == 403
    assert await db.fetchval("SELECT name FROM donors WHERE id = $1", scene.donor_id) == (
        "Tập đoàn Viettel"
    )
    assert (await web.get("/admin/donors", headers=browser(scene.staff_a))).status_code == 403

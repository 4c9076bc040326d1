"""The school registry and enrolments, per role and scope, Unicode names and cursors."""

from __future__ import annotations

import base64

from devicetrack.common.pagination import encode_cursor
from tests.factories import DIEN_BIEN, LAI_CHAU, assert_problem

SCHOOLS = "/api/v1/schools"
NAME = "Trường PTDTBT TH&THCS Mường Chà"
FORMER_DISTRICT = "Điện Biên Đông"


def _school_body(code: str, commune: str, **more) -> dict:
    return {"code": code, "name": f"Trường {code}", "commune_code": commune, **more}


async def _school_count(db) -> int:
    return int(await db.fetchval("SELECT count(*) FROM schools"))


async def test_admin_manages_schools_anywhere(client, db, factory) -> None:
    admin = await factory.admin()
    commune = await factory.commune(DIEN_BIEN, 3)
    created = await client.post(
        SCHOOLS,
        json={
            "code": "11DB-0042",
            "name": NAME,
            "commune_code": commune,
            "province_code": DIEN_BIEN,
            "levels": ["lower_secondary", "primary", "primary"],
            "former_district": FORMER_DISTRICT,
            "address": "Bản Huổi Mí, xã Mường Chà",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    school = created.json()
    assert school["name"] == NAME and school["former_district"] == FORMER_DISTRICT
    assert school["province_code"] == DIEN_BIEN and school["commune_code"] == commune
    assert school["levels"] == ["lower_secondary", "primary"]
    assert school["active"] is True and school["code"] == "11DB-0042"
    row = await db.fetchrow("SELECT * FROM schools WHERE id = $1", school["id"])
    assert row["name"] == NAME and row["former_district"] == FORMER_DISTRICT
    assert row["address"] == "Bản Huổi Mí, xã Mường Chà"

    # The province comes from the commune when not given; other provinces are fine for admins.
    lai_chau = await client.post(
        SCHOOLS, json=_school_body("12LC-1", await factory.commune(LAI_CHAU)), headers=admin.headers
    )
    assert lai_chau.status_code == 201, lai_chau.text
    assert lai_chau.json()["province_code"] == LAI_CHAU

    fetched = await client.get(f"{SCHOOLS}/{school['id']}", headers=admin.headers)
    assert fetched.status_code == 200 and fetched.json() == school
    listed = await client.get(SCHOOLS, headers=admin.headers)
    assert [s["id"] for s in listed.json()["items"]] == [school["id"], lai_chau.json()["id"]]
    assert listed.json()["next_cursor"] is None
    found = await client.get(SCHOOLS, params={"q": "mường chà"}, headers=admin.headers)
    assert [s["name"] for s in found.json()["items"]] == [NAME]
    by_level = await client.get(SCHOOLS, params={"level": "primary"}, headers=admin.headers)
    assert [s["id"] for s in by_level.json()["items"]] == [school["id"]]
    none = await client.get(SCHOOLS, params={"level": "preschool"}, headers=admin.headers)
    assert none.status_code == 200 and none.json()["items"] == []
    by_province = await client.get(SCHOOLS, params={"province": LAI_CHAU}, headers=admin.headers)
    assert [s["code"] for s in by_province.json()["items"]] == ["12LC-1"]

    patched = await client.patch(
        f"{SCHOOLS}/{school['id']}",
        json={"name": "Trường PTDTBT THCS Huổi Mí", "active": False, "levels": ["continuing"]},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Trường PTDTBT THCS Huổi Mí"
    assert patched.json()["active"] is False and patched.json()["levels"] == ["continuing"]
    assert patched.json()["former_district"] == FORMER_DISTRICT  # untouched
    row = await db.fetchrow("SELECT name, active FROM schools WHERE id = $1", school["id"])
    assert (row["name"], row["active"]) == ("Trường PTDTBT THCS Huổi Mí", False)

    deleted = await client.delete(f"{SCHOOLS}/{lai_chau.json()['id']}", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    assert await db.fetchval("SELECT count(*) FROM schools WHERE code = '12LC-1'") == 0
    assert_problem(
        await client.get(f"{SCHOOLS}/{lai_chau.json()['id']}", headers=admin.headers), 404
    )


async def test_school_rules(client, db, factory) -> None:
    admin = await factory.admin()
    h = admin.headers
    commune = await factory.commune(DIEN_BIEN)
    assert (
        await client.post(SCHOOLS, json=_school_body("DUP", commune), headers=h)
    ).status_code == 201

    duplicate = assert_problem(
        await client.post(SCHOOLS, json=_school_body("DUP", commune), headers=h), 409
    )
    assert duplicate["errors"] == [{"field": "code", "message": "already in use"}]
    unknown = assert_problem(
        await client.post(SCHOOLS, json=_school_body("X1", "99999"), headers=h), 422
    )
    assert unknown["errors"][0]["field"] == "commune_code"
    mismatch = assert_problem(
        await client.post(
            SCHOOLS, json=_school_body("X2", commune, province_code=LAI_CHAU), headers=h
        ),
        422,
    )
    assert mismatch["errors"][0]["field"] == "commune_code"
    # Commune codes are 5-digit strings: a number or a short code is refused.
    for bad in ({"commune_code": int(commune)}, {"commune_code": commune.lstrip("0")}):
        body = assert_problem(
            await client.post(SCHOOLS, json={**_school_body("X3", commune), **bad}, headers=h), 400
        )
        assert body["errors"][0]["field"] == "commune_code"
    body = assert_problem(
        await client.post(
            SCHOOLS, json=_school_body("X4", commune, levels=["university"]), headers=h
        ),
        400,
    )
    assert body["errors"][0]["field"].startswith("levels")
    # Blank code or name (only spaces) would be stored as an empty string: refused.
    for blank in ({"code": "   "}, {"name": " \t "}):
        body = assert_problem(
            await client.post(SCHOOLS, json={**_school_body("X5", commune), **blank}, headers=h),
            400,
        )
        assert body["errors"][0]["field"] == next(iter(blank))
    assert await _school_count(db) == 1

    school_id = await factory.school(DIEN_BIEN)
    assert_problem(
        await client.patch(f"{SCHOOLS}/{school_id}", json={"name": "  "}, headers=h), 400
    )
    renamed = await client.patch(
        f"{SCHOOLS}/{school_id}", json={"name": "  Trường TH Na Sang  "}, headers=h
    )
    assert renamed.json()["name"] == "Trường TH Na Sang"
    assert await db.fetchval("SELECT name FROM schools WHERE id = $1", school_id) == (
        "Trường TH Na Sang"
    )
    moved = assert_problem(
        await client.patch(
            f"{SCHOOLS}/{school_id}",
            json={"commune_code": await factory.commune(LAI_CHAU)},
            headers=h,
        ),
        422,
    )
    assert moved["errors"][0]["field"] == "commune_code"
    other_commune = await factory.commune(DIEN_BIEN, 7)
    ok = await client.patch(
        f"{SCHOOLS}/{school_id}", json={"commune_code": other_commune}, headers=h
    )
    assert ok.status_code == 200 and ok.json()["commune_code"] == other_commune
    assert_problem(await client.get(f"{SCHOOLS}/999999", headers=h), 404)
    assert_problem(await client.delete(f"{SCHOOLS}/999999", headers=h), 404)


async def test_province_officer_is_confined_to_its_province(client, db, factory) -> None:
    officer = await factory.officer(DIEN_BIEN)
    h = officer.headers
    mine = await factory.school(DIEN_BIEN)
    theirs = await factory.school(LAI_CHAU)

    created = await client.post(
        SCHOOLS, json=_school_body("DB-NEW", await factory.commune(DIEN_BIEN)), headers=h
    )
    assert created.status_code == 201, created.text
    refused = await client.post(
        SCHOOLS, json=_school_body("LC-NEW", await factory.commune(LAI_CHAU)), headers=h
    )
    assert_problem(refused, 403)
    # Naming its own province for a commune elsewhere is refused too.
    assert not (
        await client.post(
            SCHOOLS,
            json=_school_body("LC-NEW", await factory.commune(LAI_CHAU), province_code=DIEN_BIEN),
            headers=h,
        )
    ).is_success
    assert await db.fetchval("SELECT count(*) FROM schools WHERE code = 'LC-NEW'") == 0

    listed = await client.get(SCHOOLS, headers=h)
    assert {s["id"] for s in listed.json()["items"]} == {mine, created.json()["id"]}
    # Asking for another province explicitly gives nothing, not their schools.
    other = await client.get(SCHOOLS, params={"province": LAI_CHAU}, headers=h)
    assert other.status_code == 200 and other.json()["items"] == []

    assert (await client.get(f"{SCHOOLS}/{mine}", headers=h)).status_code == 200
    assert_problem(await client.get(f"{SCHOOLS}/{theirs}", headers=h), 404)
    assert_problem(
        await client.patch(f"{SCHOOLS}/{theirs}", json={"name": "Chiếm"}, headers=h), 404
    )
    assert_problem(await client.delete(f"{SCHOOLS}/{theirs}", headers=h), 404)
    assert_problem(await client.get(f"{SCHOOLS}/{theirs}/enrolments", headers=h), 404)
    assert_problem(
        await client.post(
            f"{SCHOOLS}/{theirs}/enrolments",
            json={"school_year": "2025-2026", "students_total": 1},
            headers=h,
        ),
        404,
    )
    row = await db.fetchrow("SELECT name FROM schools WHERE id = $1", theirs)
    assert row is not None and row["name"] != "Chiếm"
    assert await db.fetchval("SELECT count(*) FROM enrolments") == 0

    patched = await client.patch(f"{SCHOOLS}/{mine}", json={"name": "Đổi tên"}, headers=h)
    assert patched.status_code == 200 and patched.json()["name"] == "Đổi tên"
    assert (await client.delete(f"{SCHOOLS}/{mine}", headers=h)).status_code == 204
    assert await db.fetchval("SELECT count(*) FROM schools WHERE id = $1", mine) == 0


async def test_school_staff_sees_only_its_schools(client, db, factory) -> None:
    mine = await factory.school(DIEN_BIEN)
    also_mine = await factory.school(LAI_CHAU)
    other = await factory.school(DIEN_BIEN)
    staff = await factory.staff(mine, also_mine)
    h = staff.headers

    listed = await client.get(SCHOOLS, headers=h)
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["items"]] == [mine, also_mine]
    assert (await client.get(f"{SCHOOLS}/{also_mine}", headers=h)).status_code == 200
    assert_problem(await client.get(f"{SCHOOLS}/{other}", headers=h), 404)
    assert_problem(await client.get(f"{SCHOOLS}/{other}/enrolments", headers=h), 404)
    assert_problem(
        await client.post(
            f"{SCHOOLS}/{other}/enrolments",
            json={"school_year": "2025-2026", "students_total": 10},
            headers=h,
        ),
        404,
    )
    assert_problem(await client.patch(f"{SCHOOLS}/{other}", json={"name": "x"}, headers=h), 404)
    # The registry is not staff's to change, even for their own school.
    assert_problem(
        await client.post(
            SCHOOLS, json=_school_body("ST-1", await factory.commune(DIEN_BIEN)), headers=h
        ),
        403,
    )
    assert_problem(await client.patch(f"{SCHOOLS}/{mine}", json={"name": "x"}, headers=h), 403)
    assert_problem(await client.delete(f"{SCHOOLS}/{mine}", headers=h), 403)
    assert await _school_count(db) == 3
    assert await db.fetchval("SELECT count(*) FROM schools WHERE name = 'x'") == 0

    # Their own school's enrolment they keep up to date.
    put = await client.post(
        f"{SCHOOLS}/{mine}/enrolments",
        json={"school_year": "2025-2026", "students_total": 412, "priority_students": 130},
        headers=h,
    )
    assert put.status_code == 200, put.text
    assert put.json()["students_total"] == 412
    listed = await client.get(f"{SCHOOLS}/{mine}/enrolments", headers=h)
    assert [(e["school_year"], e["students_total"]) for e in listed.json()["items"]] == [
        ("2025-2026", 412)
    ]
    assert await db.fetchval("SELECT count(*) FROM enrolments WHERE school_id = $1", other) == 0


async def test_donor_sees_no_schools_or_enrolments(client, db, factory) -> None:
    school = await factory.school(DIEN_BIEN)
    await db.execute(
        "INSERT INTO enrolments (school_id, school_year, students_total) VALUES ($1, $2, $3)",
        school,
        "2025-2026",
        300,
    )
    donor = await factory.donor_user(await factory.donor())
    h = donor.headers
    listed = await client.get(SCHOOLS, headers=h)
    assert listed.status_code == 200
    assert listed.json() == {"items": [], "next_cursor": None}
    assert_problem(await client.get(f"{SCHOOLS}/{school}", headers=h), 404)
    enrolments = await client.get(f"{SCHOOLS}/{school}/enrolments", headers=h)
    assert_problem(enrolments, 404)
    assert "300" not in enrolments.text
    assert_problem(
        await client.post(
            f"{SCHOOLS}/{school}/enrolments",
            json={"school_year": "2025-2026", "students_total": 1},
            headers=h,
        ),
        404,
    )
    assert_problem(
        await client.post(
            SCHOOLS, json=_school_body("DN-1", await factory.commune(DIEN_BIEN)), headers=h
        ),
        403,
    )
    assert_problem(await client.patch(f"{SCHOOLS}/{school}", json={"name": "x"}, headers=h), 404)
    assert_problem(await client.delete(f"{SCHOOLS}/{school}", headers=h), 404)
    assert await _school_count(db) == 1
    assert await db.fetchval("SELECT students_total FROM enrolments") == 300


async def test_enrolments_upsert_per_school_year(client, db, factory) -> None:
    officer = await factory.officer(DIEN_BIEN)
    h = officer.headers
    school = await factory.school(DIEN_BIEN)
    url = f"{SCHOOLS}/{school}/enrolments"

    first = await client.post(
        url,
        json={"school_year": "2025-2026", "students_total": 400, "priority_students": 120},
        headers=h,
    )
    assert first.status_code == 200, first.text
    assert first.json() | {"updated_at": None} == {
        "school_id": school,
        "school_year": "2025-2026",
        "students_total": 400,
        "priority_students": 120,
        "updated_at": None,
    }
    again = await client.post(
        url,
        json={"school_year": "2025-2026", "students_total": 412, "priority_students": 130},
        headers=h,
    )
    assert again.status_code == 200 and again.json()["students_total"] == 412
    older = await client.post(
        url, json={"school_year": "2024-2025", "students_total": 390}, headers=h
    )
    assert older.status_code == 200 and older.json()["priority_students"] == 0

    rows = await db.fetch(
        "SELECT school_year, students_total, priority_students FROM enrolments"
        " WHERE school_id = $1 ORDER BY school_year",
        school,
    )
    assert [tuple(r) for r in rows] == [("2024-2025", 390, 0), ("2025-2026", 412, 130)]
    listed = await client.get(url, headers=h)
    assert [(e["school_year"], e["students_total"]) for e in listed.json()["items"]] == [
        ("2024-2025", 390),
        ("2025-2026", 412),
    ]

    over = assert_problem(
        await client.post(
            url,
            json={"school_year": "2025-2026", "students_total": 10, "priority_students": 11},
            headers=h,
        ),
        422,
    )
    assert over["errors"][0]["field"] == "priority_students"
    gap = assert_problem(
        await client.post(url, json={"school_year": "2025-2027", "students_total": 1}, headers=h),
        422,
    )
    assert gap["errors"][0]["field"] == "school_year"
    for bad, field in (
        ({"school_year": "2025/2026", "students_total": 1}, "school_year"),
        ({"school_year": "2025-2026", "students_total": -5}, "students_total"),
    ):
        body = assert_problem(await client.post(url, json=bad, headers=h), 400)
        assert body["errors"][0]["field"] == field
    assert (
        await db.fetchval("SELECT students_total FROM enrolments WHERE school_year = '2025-2026'")
        == 412
    )
    assert_problem(await client.get(f"{SCHOOLS}/999999/enrolments", headers=h), 404)


async def test_cursor_pagination_walks_every_school_once(client, factory) -> None:
    admin = await factory.admin()
    ids = [await factory.school(DIEN_BIEN) for _ in range(5)]
    ids.append(await factory.school(LAI_CHAU))
    ids.append(await factory.school(DIEN_BIEN))

    async def walk() -> list[list[int]]:
        pages, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            response = await client.get(SCHOOLS, params=params, headers=admin.headers)
            assert response.status_code == 200, response.text
            page = response.json()
            pages.append([s["id"] for s in page["items"]])
            cursor = page["next_cursor"]
            if cursor is None:
                return pages
            assert isinstance(cursor, str) and len(pages) < 10

    pages = await walk()
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    flat = [i for p in pages for i in p]
    assert flat == sorted(ids)
    assert len(set(flat)) == len(ids)
    assert await walk() == pages  # stable

    # Exactly a full last page: no empty extra page.
    exact = await client.get(SCHOOLS, params={"limit": 7}, headers=admin.headers)
    assert len(exact.json()["items"]) == 7 and exact.json()["next_cursor"] is None
    # Filters and cursors combine.
    dien_bien = await client.get(
        SCHOOLS, params={"limit": 5, "province": DIEN_BIEN}, headers=admin.headers
    )
    assert len(dien_bien.json()["items"]) == 5 and dien_bien.json()["next_cursor"]
    rest = await client.get(
        SCHOOLS,
        params={"limit": 5, "province": DIEN_BIEN, "cursor": dien_bien.json()["next_cursor"]},
        headers=admin.headers,
    )
    assert [s["id"] for s in rest.json()["items"]] == [ids[-1]]


async def test_limit_is_capped_at_1000(client, factory) -> None:
    admin = await factory.admin()
    await factory.school(DIEN_BIEN)
    assert (await client.get(SCHOOLS, params={"limit": 1000}, headers=admin.headers)).is_success
    for limit in (1001, 0, -1, "ten"):
        body = assert_problem(
            await client.get(SCHOOLS, params={"limit": limit}, headers=admin.headers), 400
        )
        assert body["errors"][0]["field"] == "query.limit", body


async def test_garbage_cursor_is_a_4xx_problem(client, factory) -> None:
    admin = await factory.admin()
    await factory.school(DIEN_BIEN)
    for cursor in (
        "garbage!!",
        "djE6YWJj",  # "v1:abc"
        base64.urlsafe_b64encode(b"v2:5").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
        encode_cursor(10**20),  # would overflow the id column
        encode_cursor(2**40),
        base64.urlsafe_b64encode(b"v1:-3").decode(),
    ):
        response = await client.get(SCHOOLS, params={"cursor": cursor}, headers=admin.headers)
        body = assert_problem(response, 422)
        assert body["errors"] == [{"field": "cursor", "message": "invalid cursor"}], cursor

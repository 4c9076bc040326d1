"""The donor register: who may create, read and change which donor."""

from __future__ import annotations

from tests.factories import DIEN_BIEN, LAI_CHAU, assert_problem

DONORS = "/api/v1/donors"


def _donor(name: str, **more) -> dict:
    return {"name": name, "short_name": name[:20], "kind": "foundation", **more}


async def test_admin_and_officer_register_donors(client, db, factory) -> None:
    admin = await factory.admin()
    officer = await factory.officer(DIEN_BIEN)
    created = await client.post(
        DONORS,
        json={
            "name": "Quỹ Bảo trợ trẻ em Việt Nam",
            "short_name": "Quỹ BTTE",
            "kind": "foundation",
            "contact_name": "Nguyễn Thị Hồng",
            "contact_email": "hong@quybtte.vn",
            "contact_phone": "+84912345678",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    donor = created.json()
    assert donor["name"] == "Quỹ Bảo trợ trẻ em Việt Nam" and donor["short_name"] == "Quỹ BTTE"
    assert donor["country"] == "VN" and donor["contact_name"] == "Nguyễn Thị Hồng"
    row = await db.fetchrow("SELECT name, kind, country FROM donors WHERE id = $1", donor["id"])
    assert tuple(row) == ("Quỹ Bảo trợ trẻ em Việt Nam", "foundation", "VN")

    by_officer = await client.post(
        DONORS,
        json=_donor("Viettel Điện Biên", kind="telecom", short_name="Viettel"),
        headers=officer.headers,
    )
    assert by_officer.status_code == 201, by_officer.text
    assert by_officer.json()["kind"] == "telecom"
    foreign = await client.post(
        DONORS, json=_donor("Dariu Foundation", country="CH"), headers=officer.headers
    )
    assert foreign.status_code == 201 and foreign.json()["country"] == "CH"

    for caller in (admin, officer):
        listed = await client.get(DONORS, headers=caller.headers)
        assert listed.status_code == 200
        assert [d["id"] for d in listed.json()["items"]] == [
            donor["id"],
            by_officer.json()["id"],
            foreign.json()["id"],
        ]
        fetched = await client.get(f"{DONORS}/{donor['id']}", headers=caller.headers)
        assert fetched.status_code == 200 and fetched.json() == donor
    telecoms = await client.get(DONORS, params={"kind": "telecom"}, headers=admin.headers)
    assert [d["name"] for d in telecoms.json()["items"]] == ["Viettel Điện Biên"]
    search = await client.get(DONORS, params={"q": "bảo trợ"}, headers=admin.headers)
    assert [d["id"] for d in search.json()["items"]] == [donor["id"]]
    paged = await client.get(DONORS, params={"limit": 2}, headers=admin.headers)
    rest = await client.get(
        DONORS, params={"limit": 2, "cursor": paged.json()["next_cursor"]}, headers=admin.headers
    )
    assert [d["id"] for d in paged.json()["items"] + rest.json()["items"]] == [
        donor["id"],
        by_officer.json()["id"],
        foreign.json()["id"],
    ]
    assert rest.json()["next_cursor"] is None

    patched = await client.patch(
        f"{DONORS}/{donor['id']}", json={"contact_phone": "+84987654321"}, headers=officer.headers
    )
    assert patched.status_code == 200 and patched.json()["contact_phone"] == "+84987654321"
    assert patched.json()["contact_name"] == "Nguyễn Thị Hồng"
    assert (
        await db.fetchval("SELECT contact_phone FROM donors WHERE id = $1", donor["id"])
        == "+84987654321"
    )


async def test_duplicate_name_is_409(client, db, factory) -> None:
    admin = await factory.admin()
    first = await client.post(DONORS, json=_donor("Quỹ Vì trẻ em"), headers=admin.headers)
    assert first.status_code == 201
    body = assert_problem(
        await client.post(DONORS, json=_donor("Quỹ Vì trẻ em"), headers=admin.headers), 409
    )
    assert body["errors"] == [{"field": "name", "message": "already registered"}]
    # Surrounding spaces do not make a different donor.
    assert_problem(
        await client.post(DONORS, json=_donor("  Quỹ Vì trẻ em "), headers=admin.headers), 409
    )
    second = await client.post(DONORS, json=_donor("Quỹ khác"), headers=admin.headers)
    for taken in ("Quỹ Vì trẻ em", "Quỹ Vì trẻ em  "):
        body = assert_problem(
            await client.patch(
                f"{DONORS}/{second.json()['id']}", json={"name": taken}, headers=admin.headers
            ),
            409,
        )
        assert body["errors"][0]["field"] == "name"
    assert await db.fetchval("SELECT count(*) FROM donors") == 2
    assert (
        await db.fetchval("SELECT name FROM donors WHERE id = $1", second.json()["id"])
        == "Quỹ khác"
    )


async def test_donor_user_sees_only_its_own_donor(client, db, factory) -> None:
    own = await factory.donor("Công ty Cổ phần FPT")
    other = await factory.donor("Tập đoàn Viettel")
    caller = await factory.donor_user(own)
    h = caller.headers

    listed = await client.get(DONORS, headers=h)
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["items"]] == [own]
    assert listed.json()["next_cursor"] is None
    searched = await client.get(DONORS, params={"q": "Viettel"}, headers=h)
    assert searched.json()["items"] == []
    fetched = await client.get(f"{DONORS}/{own}", headers=h)
    assert fetched.status_code == 200 and fetched.json()["name"] == "Công ty Cổ phần FPT"
    hidden = await client.get(f"{DONORS}/{other}", headers=h)
    assert_problem(hidden, 404)
    assert "Viettel" not in hidden.text

    # It keeps its own contact details up to date, but not another donor's, nor its kind.
    patched = await client.patch(f"{DONORS}/{own}", json={"contact_name": "Trần Văn An"}, headers=h)
    assert patched.status_code == 200 and patched.json()["contact_name"] == "Trần Văn An"
    assert_problem(
        await client.patch(f"{DONORS}/{other}", json={"contact_name": "x"}, headers=h), 404
    )
    assert_problem(await client.patch(f"{DONORS}/{own}", json={"kind": "other"}, headers=h), 403)
    assert_problem(await client.post(DONORS, json=_donor("Mới"), headers=h), 403)
    assert_problem(await client.delete(f"{DONORS}/{own}", headers=h), 403)
    rows = {r["id"]: r for r in await db.fetch("SELECT id, kind, contact_name FROM donors")}
    assert rows[own]["contact_name"] == "Trần Văn An" and rows[own]["kind"] == "foundation"
    assert rows[other]["contact_name"] is None
    assert len(rows) == 2


async def test_school_staff_cannot_register_or_edit_donors(client, db, factory) -> None:
    donor = await factory.donor()
    staff = await factory.staff(await factory.school(DIEN_BIEN))
    h = staff.headers
    assert_problem(await client.post(DONORS, json=_donor("Trường tự tạo"), headers=h), 403)
    assert_problem(
        await client.patch(f"{DONORS}/{donor}", json={"contact_name": "x"}, headers=h), 403
    )
    assert_problem(await client.delete(f"{DONORS}/{donor}", headers=h), 403)
    assert await db.fetchval("SELECT count(*) FROM donors") == 1
    assert await db.fetchval("SELECT contact_name FROM donors") is None


async def test_only_admins_delete_donors_and_not_ones_in_use(client, db, factory) -> None:
    admin = await factory.admin()
    officer = await factory.officer()
    unused = await factory.donor()
    in_use = await factory.donor()
    await factory.donor_user(in_use)

    assert_problem(await client.delete(f"{DONORS}/{unused}", headers=officer.headers), 403)
    assert (await client.delete(f"{DONORS}/{unused}", headers=admin.headers)).status_code == 204
    assert await db.fetchval("SELECT count(*) FROM donors WHERE id = $1", unused) == 0
    assert_problem(await client.delete(f"{DONORS}/{in_use}", headers=admin.headers), 409)
    assert await db.fetchval("SELECT count(*) FROM donors WHERE id = $1", in_use) == 1
    assert_problem(await client.delete(f"{DONORS}/999999", headers=admin.headers), 404)


async def test_donor_fields_are_validated(client, db, factory) -> None:
    admin = await factory.admin()
    for body, field in (
        (_donor("A", kind="charity"), "kind"),
        (_donor("B", country="Vietnam"), "country"),
        ({**_donor("C"), "short_name": "x" * 41}, "short_name"),
        ({**_donor("D"), "name": ""}, "name"),
    ):
        problem = assert_problem(await client.post(DONORS, json=body, headers=admin.headers), 400)
        assert problem["errors"][0]["field"] == field, problem
    for blank in ({"name": "   "}, {"short_name": " "}):
        problem = assert_problem(
            await client.post(DONORS, json={**_donor("E"), **blank}, headers=admin.headers), 400
        )
        assert problem["errors"][0]["field"] == next(iter(blank))
    assert await db.fetchval("SELECT count(*) FROM donors") == 0


async def test_officer_edits_a_donor_only_while_it_gives_in_that_province_alone(
    client, db, factory
) -> None:
    """The register is shared between provinces: once a donor gives in another province too,
    only admins (and the donor itself) change it; the donor's record stays as it was."""
    officer = await factory.officer(DIEN_BIEN)
    admin = await factory.admin()
    donor = await factory.donor("Quỹ Vì trẻ em vùng cao")

    async def donation(province: str, reference: str) -> None:
        made = await client.post(
            "/api/v1/donations",
            json={"donor_id": donor, "province_code": province, "reference": reference},
            headers=admin.headers,
        )
        assert made.status_code == 201, made.text

    await donation(DIEN_BIEN, "VTE-DB-1")
    mine = await client.patch(
        f"{DONORS}/{donor}", json={"contact_name": "Lò Văn Pằng"}, headers=officer.headers
    )
    assert mine.status_code == 200 and mine.json()["contact_name"] == "Lò Văn Pằng"

    await donation(LAI_CHAU, "VTE-LC-1")
    shared = await client.patch(
        f"{DONORS}/{donor}", json={"contact_name": "Someone else"}, headers=officer.headers
    )
    assert "other provinces" in assert_problem(shared, 403)["detail"]
    assert await db.fetchval("SELECT contact_name FROM donors WHERE id = $1", donor) == (
        "Lò Văn Pằng"
    )
    by_admin = await client.patch(
        f"{DONORS}/{donor}", json={"contact_name": "Giàng A Sùng"}, headers=admin.headers
    )
    assert by_admin.status_code == 200 and by_admin.json()["contact_name"] == "Giàng A Sùng"

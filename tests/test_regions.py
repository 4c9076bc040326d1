"""Provinces and communes: the post-2025 two-tier list, string codes with leading zeros."""

from __future__ import annotations

from tests.factories import DIEN_BIEN, assert_problem


async def test_34_provinces_with_string_codes(client, db, factory) -> None:
    caller = await factory.staff(await factory.school(DIEN_BIEN))
    response = await client.get("/api/v1/provinces", headers=caller.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 34
    codes = [p["code"] for p in items]
    assert codes == sorted(codes) and len(set(codes)) == 34
    assert all(isinstance(c, str) and len(c) == 2 and c.isdigit() for c in codes)
    by_code = {p["code"]: p for p in items}
    assert by_code["01"]["name"] == "Thành phố Hà Nội"
    dien_bien = by_code["11"]
    assert dien_bien["name"] == "Điện Biên"
    assert dien_bien["programme_name"] == "Sở GD&ĐT Điện Biên"
    assert dien_bien["division_type"] == "tỉnh"
    communes_in_db = await db.fetchval("SELECT count(*) FROM communes WHERE province_code = '11'")
    assert dien_bien["commune_count"] == communes_in_db > 0
    assert sum(p["commune_count"] for p in items) == await db.fetchval(
        "SELECT count(*) FROM communes"
    )


async def test_communes_of_dien_bien(client, db, factory) -> None:
    caller = await factory.donor_user(await factory.donor())
    response = await client.get("/api/v1/provinces/11/communes", headers=caller.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    expected = await db.fetch(
        "SELECT code, name FROM communes WHERE province_code = '11' ORDER BY code"
    )
    assert [(c["code"], c["name"]) for c in items] == [(r["code"], r["name"]) for r in expected]
    assert len(items) >= 40
    for commune in items:
        assert isinstance(commune["code"], str) and len(commune["code"]) == 5
        assert commune["code"].isdigit() and commune["province_code"] == "11"
        assert commune["division_type"] in {"xã", "phường", "đặc khu"}
    # Điện Biên's codes start with a zero that must survive.
    assert all(c["code"].startswith("0") for c in items)
    names = {c["name"] for c in items}
    assert {"Phường Điện Biên Phủ", "Phường Mường Lay"} <= names
    assert any(n.startswith("Xã Mường Chà") for n in names), names

    search = await client.get(
        "/api/v1/provinces/11/communes", params={"q": "Mường"}, headers=caller.headers
    )
    found = search.json()["items"]
    assert found and all("Mường" in c["name"] for c in found)
    assert len(found) < len(items)

    # Hà Nội is "01": asked for as "1" (a number lost its zero) it is still found.
    hanoi = await client.get("/api/v1/provinces/1/communes", headers=caller.headers)
    assert hanoi.status_code == 200
    assert hanoi.json()["items"] and {c["province_code"] for c in hanoi.json()["items"]} == {"01"}


async def test_unknown_province_is_404(client, factory) -> None:
    caller = await factory.admin()
    for code in ("99", "00", "abc"):
        body = assert_problem(
            await client.get(f"/api/v1/provinces/{code}/communes", headers=caller.headers), 404
        )
        assert code.zfill(2) in body["detail"]


async def test_regions_need_a_signed_in_caller(client) -> None:
    assert_problem(await client.get("/api/v1/provinces"), 401)
    assert_problem(await client.get("/api/v1/provinces/11/communes"), 401)

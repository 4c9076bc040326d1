"""GET /api/v1/scan/{code}: whatever a scanner or a person typed finds the device."""

from __future__ import annotations

from tests.factories import DIEN_BIEN, assert_problem


async def _devices(client, factory):
    admin = await factory.admin()
    donor = await factory.donor()
    donation = (
        await client.post(
            "/api/v1/donations",
            headers=admin.headers,
            json={"donor_id": donor, "province_code": DIEN_BIEN, "reference": "SCAN-1"},
        )
    ).json()["id"]
    created = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        json=[
            {"kind": "smartphone", "make": "Xiaomi", "imei": "490154203237518"},
            {"kind": "sim", "iccid": "8984040000000000001"},
            {"kind": "laptop", "make": "Dell", "serial": "LAP-7"},
        ],
    )
    assert created.status_code == 201, created.text
    return admin, donor, created.json()["asset_tags"]


async def test_scan_finds_by_tag_imei_iccid_and_serial(client, factory) -> None:
    admin, _, (phone, sim, laptop) = await _devices(client, factory)
    for code, tag in (
        (phone.lower().replace("-", ""), phone),
        (phone, phone),
        ("490154203237518", phone),
        ("8984 0400 0000 0000 001", sim),
        ("LAP-7", laptop),
        ("lap-7", laptop),  # serials in any case
    ):
        response = await client.get(f"/api/v1/scan/{code}", headers=admin.headers)
        assert response.status_code == 200, (code, response.text)
        assert response.json()["asset_tag"] == tag


async def test_list_search_finds_a_serial_in_any_case(client, factory) -> None:
    admin, _, (_, _, laptop) = await _devices(client, factory)
    for q in ("LAP-7", "lap-7", " Lap-7 "):
        response = await client.get("/api/v1/devices", params={"q": q}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert [d["asset_tag"] for d in response.json()["items"]] == [laptop], q


async def test_scan_says_what_it_recognised(client, factory) -> None:
    admin, _, (phone, _, _) = await _devices(client, factory)
    wrong = phone[:-1] + str((int(phone[-1]) + 1) % 10)
    body = assert_problem(await client.get(f"/api/v1/scan/{wrong}", headers=admin.headers), 422)
    assert body["did_you_mean"] == phone and phone in body["detail"]
    body = assert_problem(
        await client.get("/api/v1/scan/356938035643809", headers=admin.headers), 404
    )
    assert body["recognised_as"] == "imei"


async def test_scan_respects_scope(client, factory) -> None:
    _, _, (phone, _, _) = await _devices(client, factory)
    other_donor = await factory.donor_user(await factory.donor())
    assert_problem(await client.get(f"/api/v1/scan/{phone}", headers=other_donor.headers), 404)
    staff = await factory.staff(await factory.school())
    assert_problem(await client.get("/api/v1/scan/490154203237518", headers=staff.headers), 404)


async def test_search_matches_whole_identities_tags_any_form_and_words_of_the_model(
    client, factory
) -> None:
    admin = await factory.admin()
    donation = (
        await client.post(
            "/api/v1/donations",
            headers=admin.headers,
            json={"donor_id": await factory.donor(), "province_code": DIEN_BIEN, "reference": "Q"},
        )
    ).json()["id"]
    created = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        json=[
            {"kind": "laptop", "make": "Dell", "model": "Latitude 3440", "serial": "SNX001"},
            {"kind": "sim", "iccid": "8984040000000000019", "msisdn": "0912000001"},
            {"kind": "tablet", "make": "Samsung", "model": "Galaxy Tab A9", "serial": "R9-1"},
        ],
    )
    laptop, sim, tablet = created.json()["asset_tags"]

    async def found(q: str) -> list[str]:
        response = await client.get("/api/v1/devices", params={"q": q}, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [d["asset_tag"] for d in response.json()["items"]]

    assert await found("SNX001") == [laptop]  # not the SIM whose number ends in 001
    assert await found("1") == []
    assert await found("001") == []
    assert await found("0912 000 001") == [sim]
    assert await found("+84912000001") == [sim]
    assert await found("8984040000000000019") == [sim]
    assert await found("Samsung") == [tablet]
    assert await found("galaxy tab") == [tablet]
    assert await found("50%") == []  # LIKE characters are literal
    assert await found(tablet.lower().replace("-", "")) == [tablet]

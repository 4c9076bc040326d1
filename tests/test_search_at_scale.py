"""Searches that national scale needed (issue #15): a part of an asset tag, a phone number,
a name without diacritics; the same answers with or without pg_trgm, within the caller's
scope; and the indexes of migration 0037 where the server can have them."""

from __future__ import annotations

from datetime import date, timedelta

from devicetrack.devices.repository import is_tag_fragment
from tests.factories import DIEN_BIEN
from tests.lifecycle_helpers import API, make_scene

LAI_CHAU = "12"


def test_what_counts_as_part_of_a_tag() -> None:
    for text in ("012345", "DT11-0001", "dt11-000123", "000123-7", "11-0001"):
        assert is_tag_fragment(text), text
    # Too short, a phone number, an IMEI, an ICCID, a serial, a word.
    for text in ("001", "1", "0912345678", "490154203237518", "8984040000000000019", "SNX001"):
        assert not is_tag_fragment(text), text
    assert not is_tag_fragment("Samsung") and not is_tag_fragment("50%")


async def _register(client, admin, donor: int, province: str, rows: list[dict]) -> list[str]:
    donation = (
        await client.post(
            "/api/v1/donations",
            headers=admin.headers,
            json={"donor_id": donor, "province_code": province, "reference": f"F-{province}"},
        )
    ).json()["id"]
    created = await client.post(
        f"/api/v1/donations/{donation}/devices", headers=admin.headers, json=rows
    )
    assert created.status_code == 201, created.text
    return list(created.json()["asset_tags"])


async def test_a_part_of_a_tag_finds_the_device_within_the_callers_scope(client, factory) -> None:
    admin = await factory.admin()
    donor = await factory.donor()
    (mine,) = await _register(client, admin, donor, DIEN_BIEN, [{"kind": "laptop"}])
    (theirs,) = await _register(client, admin, donor, LAI_CHAU, [{"kind": "laptop"}])
    sequence = mine.split("-")[1]  # DT11-000001-7 → 000001

    async def found(caller, q: str) -> set[str]:
        response = await client.get("/api/v1/devices", params={"q": q}, headers=caller.headers)
        assert response.status_code == 200, response.text
        return {d["asset_tag"] for d in response.json()["items"]}

    assert mine in await found(admin, sequence)
    assert mine in await found(admin, mine[:9])  # "DT11-0000"
    assert mine in await found(admin, mine[:9].lower())
    officer = await factory.officer(DIEN_BIEN)
    seen = await found(officer, sequence)
    assert mine in seen and theirs not in seen
    # A part of a tag in the other province's numbering finds only its own devices there.
    assert await found(officer, theirs[2:9]) == set()
    assert await found(admin, "001") == set()  # too short to be a part of a tag


async def test_a_sim_is_found_by_its_number_in_any_form(client, factory) -> None:
    admin = await factory.admin()
    (sim,) = await _register(
        client,
        admin,
        await factory.donor(),
        DIEN_BIEN,
        [{"kind": "sim", "iccid": "8984040000000000027", "msisdn": "0912000027"}],
    )
    for q in ("0912000027", "0912 000 027", "+84912000027", "84912000027"):
        response = await client.get("/api/v1/devices", params={"q": q}, headers=admin.headers)
        assert [d["asset_tag"] for d in response.json()["items"]] == [sim], q


async def test_students_found_by_name_without_diacritics_across_schools(client, factory) -> None:
    admin = await factory.admin()
    first, second = await factory.school(), await factory.school()
    for school, name in ((first, "Sùng Thị Páo"), (second, "Giàng A Sùng")):
        response = await client.post(
            "/api/v1/students",
            headers=admin.headers,
            json={
                "school_id": school,
                "student_code": f"HS-{school}",
                "full_name": name,
                "grade": 3,
            },
        )
        assert response.status_code == 201, response.text
    response = await client.get("/api/v1/students", params={"q": "sung"}, headers=admin.headers)
    names = {s["full_name"] for s in response.json()["items"]}
    assert {"Sùng Thị Páo", "Giàng A Sùng"} <= names
    staff = await factory.staff(first)
    response = await client.get("/api/v1/students", params={"q": "sung"}, headers=staff.headers)
    assert {s["full_name"] for s in response.json()["items"]} == {"Sùng Thị Páo"}


async def test_trigram_indexes_exist_where_the_server_has_pg_trgm(db) -> None:
    available = await db.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"
    )
    names = {
        r["indexname"]
        for r in await db.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    }
    assert {"ix_device_events_lent", "ix_devices_msisdn", "ix_devices_unseen"} <= names
    trigram = {"ix_devices_asset_tag_trgm", "ix_students_name_trgm", "ix_schools_name_trgm"}
    assert (trigram <= names) if available else not (trigram & names)


async def test_donor_impact_counts_every_figure_from_one_pass(client, db, factory) -> None:
    """The impact report's counts by kind, status, condition, lock and SIM plan (one grouped
    read of the donor's index since 0037) against the devices as they were made."""
    scene = await make_scene(client, db, factory)
    soon, later, past = (date.today() + timedelta(days=d) for d in (10, 90, -5))
    tags = await scene.intake(
        {"kind": "tablet", "serial": "DI-1", "condition": "good"},
        {"kind": "tablet", "serial": "DI-2", "condition": "fair", "activation_lock": "locked_mdm"},
        {"kind": "laptop", "serial": "DI-3", "condition": "good"},
        {"kind": "sim", "iccid": "8984040000000000035", "plan_expires_on": soon.isoformat()},
        {"kind": "sim", "iccid": "8984040000000000043", "plan_expires_on": later.isoformat()},
        {"kind": "sim", "iccid": "8984040000000000050", "plan_expires_on": past.isoformat()},
        {"kind": "sim", "iccid": "8984040000000000068", "plan_expires_on": past.isoformat()},
    )
    await scene.at_school(tags[:1])
    await scene.act(scene.officer, tags[6], "retire", reason="lost its number")
    impact = (
        await client.get(
            f"{API}/reports/donors/{scene.donor_id}/impact", headers=scene.donor.headers
        )
    ).json()
    assert impact["devices_total"] == 7
    assert impact["by_kind_status"] == {
        "laptop": {"in_stock": 1},
        "sim": {"in_stock": 3, "retired": 1},
        "tablet": {"at_school": 1, "in_stock": 1},
    }
    assert impact["received"] == {"laptop": 1, "sim": 4, "tablet": 2}
    assert impact["condition"]["good"] >= 2 and sum(impact["condition"].values()) == 7
    assert impact["retired"] == 1 and impact["lost_or_stolen"] == 0
    # The retired SIM is neither expired nor expiring; the one 90 days out is not soon.
    assert (impact["sims_expiring_30_days"], impact["sims_expired"]) == (1, 1)
    assert impact["activation_lock"] == {"unknown": 5, "locked_mdm": 1}
    assert impact["locked"] == 1
    assert [s["school_id"] for s in impact["schools_reached"]] == [scene.school_a]


async def test_lists_show_the_sim_a_device_holds_and_filter_by_it(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tablet, bare, sim = await scene.intake(
        {"kind": "tablet", "serial": "HS-1"},
        {"kind": "tablet", "serial": "HS-2"},
        {"kind": "sim", "iccid": "8984040000000000076"},
    )
    await scene.act(scene.officer, tablet, "install-sim", sim=sim)

    async def listed(**params: str) -> dict[str, dict]:
        response = await client.get(
            f"{API}/devices",
            params={"donation": scene.donation_id, **params},
            headers=scene.admin.headers,
        )
        assert response.status_code == 200, response.text
        return {d["asset_tag"]: d for d in response.json()["items"]}

    every = await listed()
    assert every[tablet]["installed_sim"] == sim and every[sim]["installed_in"] == tablet
    assert every[bare]["installed_sim"] is None and every[bare]["installed_in"] is None
    assert set(await listed(has_sim="true")) == {tablet}
    assert set(await listed(has_sim="false")) == {bare, sim}

"""Intake facts of used donated devices: the activation lock (iCloud, Google FRP, MDM),
storage, RAM and battery health, through the API, uploads with Vietnamese headers and the
device page; a locked device is neither allocated nor lent until the lock is cleared, and
the donor's impact counts locked devices."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.factories import Factory, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser, form

LOCKED_DETAIL = (
    "The device is still locked to an account (iCloud, Google or MDM); remove the lock and "
    "mark it clear before lending or allocating it."
)


async def _patch(scene: Scene, tag: str, caller=None, **body) -> dict:
    response = await scene.client.patch(
        f"{API}/devices/{tag}", headers=(caller or scene.officer).headers, json=body
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_json_intake_keeps_the_facts_and_the_api_shows_them(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    locked, plain = await scene.intake(
        {
            "kind": "smartphone",
            "serial": "USED-1",
            "activation_lock": "locked_icloud",
            "storage_gb": 64,
            "ram_gb": 1.5,
            "battery_health_pct": 78,
        },
        {"kind": "tablet", "serial": "USED-2"},
    )
    device = (await client.get(f"{API}/devices/{locked}", headers=scene.officer.headers)).json()
    assert (
        device["activation_lock"],
        device["storage_gb"],
        device["ram_gb"],
        device["battery_health_pct"],
    ) == ("locked_icloud", 64, "1.5", 78)
    other = (await client.get(f"{API}/devices/{plain}", headers=scene.officer.headers)).json()
    assert other["activation_lock"] == "unknown" and other["storage_gb"] is None
    scanned = (await client.get(f"{API}/scan/USED-1", headers=scene.officer.headers)).json()
    assert scanned["activation_lock"] == "locked_icloud"  # the scan answers the same fields
    row = await scene.device(locked)
    assert (row["activation_lock"], row["storage_gb"], str(row["ram_gb"])) == (
        "locked_icloud",
        64,
        "1.5",
    )


async def test_an_upload_with_vietnamese_headers_and_words_is_read(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    csv = (
        "loại,số_serial,khóa_kích_hoạt,bộ_nhớ_trong_gb,ram,pin_%\n"
        'điện thoại,VN-1,khóa icloud,64 GB,"1,5",85%\n'
        "máy tính bảng,VN-2,Không khóa,32,2,100\n"
        "máy tính bảng,VN-3,mdm,,,\n"
        "máy tính bảng,VN-4,frp,128,3,0\n"
    )
    created = await client.post(
        f"{API}/donations/{scene.donation_id}/devices",
        headers=scene.officer.headers,
        files={"file": ("may-cu.csv", csv.encode(), "text/csv")},
    )
    assert created.status_code == 201, created.text
    rows = {
        r["serial"]: r
        for r in await db.fetch(
            "SELECT serial, activation_lock, storage_gb, ram_gb::text, battery_health_pct"
            " FROM devices WHERE serial LIKE 'VN-%'"
        )
    }
    assert tuple(rows["VN-1"].values())[1:] == ("locked_icloud", 64, "1.5", 85)
    assert tuple(rows["VN-2"].values())[1:] == ("clear", 32, "2.0", 100)
    assert tuple(rows["VN-3"].values())[1:] == ("locked_mdm", None, None, None)
    assert tuple(rows["VN-4"].values())[1:] == ("locked_google_frp", 128, "3.0", 0)


async def test_bad_facts_are_refused_row_by_row(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    body = assert_problem(
        await client.post(
            f"{API}/donations/{scene.donation_id}/devices",
            headers=scene.officer.headers,
            json=[
                {"kind": "tablet", "activation_lock": "maybe"},
                {"kind": "tablet", "storage_gb": "lots"},
                {"kind": "tablet", "ram_gb": "0"},
                {"kind": "tablet", "battery_health_pct": 101},
            ],
        ),
        422,
    )
    errors = {(e["row"], e["field"]): e["message"] for e in body["errors"]}
    assert errors[(1, "activation_lock")].startswith("unknown activation lock; use one of")
    assert "locked_google_frp" in errors[(1, "activation_lock")]
    assert errors[(2, "storage_gb")] == "must be a whole number from 1 to 100000"
    assert errors[(3, "ram_gb")] == "must be more than 0 and at most 10000"
    assert errors[(4, "battery_health_pct")] == "must be between 0 and 100"
    assert await db.fetchval("SELECT count(*) FROM devices") == 0
    refused = assert_problem(
        await client.patch(
            f"{API}/devices/{(await scene.tablets(1))[0]}",
            headers=scene.officer.headers,
            json={"activation_lock": "maybe"},
        ),
        400,
    )
    assert refused["errors"][0]["field"] == "activation_lock"
    with pytest.raises(asyncpg.CheckViolationError) as check:
        await db.execute("UPDATE devices SET battery_health_pct = 120")
    assert check.value.constraint_name == "ck_devices_battery_health_pct_range"


async def test_the_update_import_sets_and_clears_a_lock(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.intake({"kind": "tablet", "serial": "UP-1", "activation_lock": "mdm"})
    csv = f"mã_tài_sản,khóa_kích_hoạt,pin\n{tag},không khóa,91\n"
    updated = await client.post(
        f"{API}/donations/{scene.donation_id}/devices?mode=update",
        headers=scene.officer.headers,
        files={"file": ("sua.csv", csv.encode(), "text/csv")},
    )
    assert updated.status_code == 201, updated.text
    row = await scene.device(tag)
    assert (row["activation_lock"], row["battery_health_pct"]) == ("clear", 91)
    [edited] = [e for e in await scene.events(tag) if e["action"] == "edited"]
    assert edited["data"]["changed"] == {"activation_lock": "clear", "battery_health_pct": 91}


async def test_a_locked_device_is_neither_allocated_nor_lent_until_cleared(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    locked, free = await scene.intake(
        {"kind": "tablet", "serial": "L-1", "activation_lock": "locked_google_frp"},
        {"kind": "tablet", "serial": "L-2"},
    )
    # By tags: the whole allocation is refused and names the locked device.
    by_tags = assert_problem(
        await client.post(
            f"{API}/allocations",
            headers=scene.officer.headers,
            json={"school_id": scene.school_a, "asset_tags": [locked, free]},
        ),
        409,
    )
    assert by_tags["problems"] == [
        f"{locked}: locked to an account; clear the activation lock first"
    ]
    # By kind and quantity: a locked device is not counted as free stock.
    by_kind = assert_problem(
        await client.post(
            f"{API}/allocations",
            headers=scene.officer.headers,
            json={"school_id": scene.school_a, "kind": "tablet", "quantity": 2},
        ),
        409,
    )
    assert by_kind["available"] == 1
    # The state machine's own action: refused with the reason and what may be done.
    action = assert_problem(
        await scene.act(scene.officer, locked, "allocate", expect=None, school_id=scene.school_a),
        409,
    )
    assert action["detail"] == LOCKED_DETAIL
    assert action["activation_lock"] == "locked_google_frp"
    assert "allocate" in action["allowed_actions"]  # once cleared
    assert (await scene.device(locked))["status"] == "in_stock"

    await _patch(scene, locked, activation_lock="clear")
    await scene.at_school([locked])
    # Locked again at the school (found on a returned tablet): no loan until cleared.
    await _patch(scene, locked, caller=scene.staff_a, activation_lock="locked_mdm")
    student = await scene.consenting_student()
    lend = assert_problem(
        await client.post(
            f"{API}/assignments",
            headers=scene.staff_a.headers,
            json={"asset_tag": locked, "student_id": student},
        ),
        409,
    )
    assert lend["detail"] == LOCKED_DETAIL and lend["errors"][0]["field"] == "activation_lock"
    assert await db.fetchval("SELECT count(*) FROM assignments") == 0
    await _patch(scene, locked, caller=scene.staff_a, activation_lock="clear")
    await scene.lend(locked, student)
    assert (await scene.device(locked))["status"] == "assigned"


async def test_the_donor_impact_counts_locked_devices(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.intake(
        {"kind": "smartphone", "serial": "I-1", "activation_lock": "locked_icloud"},
        {"kind": "smartphone", "serial": "I-2", "activation_lock": "locked_mdm"},
        {"kind": "smartphone", "serial": "I-3", "activation_lock": "clear"},
        {"kind": "smartphone", "serial": "I-4"},
    )
    await scene.act(scene.officer, tags[1], "retire", reason="beyond repair")
    impact = (
        await client.get(
            f"{API}/reports/donors/{scene.donor_id}/impact", headers=scene.donor.headers
        )
    ).json()
    assert impact["locked"] == 1  # the retired one no longer waits
    assert impact["activation_lock"] == {"locked_icloud": 1, "clear": 1, "unknown": 1}


async def test_the_device_page_shows_the_facts_and_clears_a_lock(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.intake(
        {
            "kind": "smartphone",
            "serial": "P-1",
            "activation_lock": "locked_icloud",
            "storage_gb": 32,
            "ram_gb": 2,
            "battery_health_pct": 64,
        }
    )
    page = await web.get(f"/devices/{tag}", headers=browser(scene.officer, "vi"))
    assert page.status_code == 200
    text = page.text
    assert "Khóa kích hoạt" in text and "<strong>Khóa iCloud</strong>" in text
    assert "32 GB" in text and "2 GB" in text and "64%" in text
    assert "Thiết bị vẫn còn khóa tài khoản" in text
    bad = await web.post(
        f"/devices/{tag}/facts",
        data=form(scene.officer, activation_lock="clear", battery_health_pct="140"),
        headers=browser(scene.officer),
    )
    assert bad.status_code == 422 and "between 0 and 100" in bad.text
    assert (await scene.device(tag))["activation_lock"] == "locked_icloud"
    cleared = await web.post(
        f"/devices/{tag}/facts",
        data=form(scene.officer, activation_lock="clear", ram_gb="1,5"),
        headers=browser(scene.officer),
    )
    assert cleared.status_code == 303, cleared.text
    row = await scene.device(tag)
    assert (row["activation_lock"], str(row["ram_gb"]), row["storage_gb"]) == ("clear", "1.5", 32)

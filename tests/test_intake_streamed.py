"""The streamed intake (devices/intake.py): parts are written while the next is checked; a
collision only the database sees, parts after the first, rolls everything back and is
listed by the checked path; a clean upload gets consecutive tags and one event each."""

from __future__ import annotations

from devicetrack.devices import intake
from devicetrack.devices.tags import format_tags
from tests.factories import DIEN_BIEN


async def _donation(client, caller, donor: int) -> int:
    r = await client.post(
        "/api/v1/donations",
        headers=caller.headers,
        json={"donor_id": donor, "province_code": DIEN_BIEN, "reference": "STREAM-1"},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_a_late_collision_rolls_back_every_part(client, factory, db) -> None:
    admin = await factory.admin()
    donation = await _donation(client, admin, await factory.donor())
    stored = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        json=[{"kind": "tablet", "make": "Samsung", "serial": "TAKEN-1"}],
    )
    assert stored.status_code == 201
    before = await db.fetchval("SELECT count(*) FROM devices")
    events = await db.fetchval("SELECT count(*) FROM device_events")
    last = await db.fetchval(
        "SELECT last_value FROM tag_sequences WHERE province_code = $1", DIEN_BIEN
    )
    n = 2 * intake.PART + 2_000
    late = 2 * intake.PART + 1_000  # in the third part: two parts are written by then
    rows = [{"kind": "tablet", "make": "Samsung", "serial": f"ST{i:06d}"} for i in range(n)]
    rows[late]["serial"] = "taken-1".upper()
    refused = await client.post(
        f"/api/v1/donations/{donation}/devices", headers=admin.headers, json=rows
    )
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(late + 1, "serial")]
    assert await db.fetchval("SELECT count(*) FROM devices") == before
    assert await db.fetchval("SELECT count(*) FROM device_events") == events
    assert (
        await db.fetchval(
            "SELECT last_value FROM tag_sequences WHERE province_code = $1", DIEN_BIEN
        )
        == last
    )

    rows[late]["serial"] = "FREE-1"
    created = await client.post(
        f"/api/v1/donations/{donation}/devices", headers=admin.headers, json=rows
    )
    assert created.status_code == 201, created.text
    tags = created.json()["asset_tags"]
    assert tags == format_tags(DIEN_BIEN, last + 1, n)  # consecutive, in file order
    stored_rows = await db.fetch(
        """SELECT d.asset_tag, d.serial, d.status, d.donor_id, e.action, e.to_status
             FROM devices d JOIN device_events e ON e.device_id = d.id
            WHERE d.donation_id = $1 AND d.serial <> 'TAKEN-1'
            ORDER BY d.id""",
        donation,
    )
    assert len(stored_rows) == n
    assert [r["asset_tag"] for r in stored_rows] == tags
    assert [r["serial"] for r in stored_rows] == [r["serial"] for r in rows]
    assert {(r["status"], r["action"], r["to_status"]) for r in stored_rows} == {
        ("in_stock", "registered", "in_stock")
    }

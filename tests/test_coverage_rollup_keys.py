"""The roll-ups read the side counters by the school keys copied onto them (migration 0007):
those keys must follow a school that moves commune or province or is deactivated, and a
closed audit must reach the school's counter row — checked at every level, through the API."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import API, make_scene


async def _rows(client: AsyncTestClient, headers: dict, level: str) -> dict:
    response = await client.get(f"{API}/reports/coverage", headers=headers, params={"level": level})
    assert response.status_code == 200, response.text
    key = {"commune": "commune_code", "province": "province_code", "nation": "level"}[level]
    return {r[key]: r for r in response.json()["items"]}


async def test_side_counters_follow_their_school(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    h = scene.admin.headers
    today = local_today()
    sim = (
        await scene.intake(
            {
                "kind": "sim",
                "iccid": "8984040000000000011",
                "plan_expires_on": (today + timedelta(days=60)).isoformat(),
            }
        )
    )[0]
    tablet, old = await scene.tablets(2)
    response = await client.post(
        f"{API}/devices/{tablet}/actions/install-sim", headers=h, json={"sim": sim}
    )
    assert response.status_code == 200, response.text
    await scene.at_school([tablet, old])
    student = await scene.consenting_student()
    await scene.lend(tablet, student)
    # One device last seen long ago: overdue for an audit.
    await db.execute(
        "UPDATE devices SET last_seen_at = now() - interval '400 days',"
        " received_at = now() - interval '400 days' WHERE asset_tag = $1",
        old,
    )
    home = await db.fetchval("SELECT commune_code FROM schools WHERE id = $1", scene.school_a)

    provinces = await _rows(client, h, "province")
    assert (provinces[DIEN_BIEN]["students_connected"], provinces[DIEN_BIEN]["overdue_audit"]) == (
        1,
        1,
    )
    assert (await _rows(client, h, "commune"))[home]["overdue_audit"] == 1

    # The school moves to another commune: its figures move with it.
    elsewhere = next(
        c for c in [await factory.commune(DIEN_BIEN, i) for i in range(8, 12)] if c != home
    )
    moved = await client.patch(
        f"{API}/schools/{scene.school_a}", headers=h, json={"commune_code": elsewhere}
    )
    assert moved.status_code == 200, moved.text
    communes = await _rows(client, h, "commune")
    assert (communes[elsewhere]["students_connected"], communes[elsewhere]["overdue_audit"]) == (
        1,
        1,
    )
    assert home not in communes or communes[home]["overdue_audit"] == 0
    nation = (await _rows(client, h, "nation"))["nation"]
    assert (nation["students_connected"], nation["overdue_audit"]) == (1, 1)

    # A closed audit reaches every level.
    audit = await client.post(f"{API}/audits", headers=h, json={"school_id": scene.school_a})
    await client.post(f"{API}/audits/{audit.json()['id']}/scans", headers=h, json={"code": old})
    closed = await client.post(f"{API}/audits/{audit.json()['id']}/close", headers=h)
    assert closed.status_code == 200, closed.text
    closed_at = closed.json()["closed_at"]
    assert (await _rows(client, h, "province"))[DIEN_BIEN]["last_audit_at"] == closed_at
    assert (await _rows(client, h, "commune"))[elsewhere]["last_audit_at"] == closed_at
    assert (await _rows(client, h, "nation"))["nation"]["last_audit_at"] == closed_at

    # Deactivated: the school leaves the roll-ups, its side counters too.
    off = await client.patch(f"{API}/schools/{scene.school_a}", headers=h, json={"active": False})
    assert off.status_code == 200, off.text
    provinces = await _rows(client, h, "province")
    assert (provinces[DIEN_BIEN]["students_connected"], provinces[DIEN_BIEN]["overdue_audit"]) == (
        0,
        0,
    )
    nation = (await _rows(client, h, "nation"))["nation"]
    assert (nation["students_connected"], nation["overdue_audit"]) == (0, 0)
    # Staff scope takes the same path: their school's roll-up, nothing of the others'.
    staff = await factory.staff(scene.school_b)
    mine = await _rows(client, staff.headers, "province")
    assert list(mine) == [DIEN_BIEN] and mine[DIEN_BIEN]["schools"] == 1

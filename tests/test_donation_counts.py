"""Each donation's devices, kept by triggers (migration 0044) for the donations list: equal
to the devices counted from scratch after intakes through the API and every change by hand
(inserts, deletes, a device moved to another donation), and shown as `received`."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import API, make_scene

FROM_SCRATCH = """
SELECT d.id, count(v.id)::int AS devices FROM donations d
  LEFT JOIN devices v ON v.donation_id = d.id GROUP BY d.id ORDER BY d.id
"""
KEPT = """
SELECT d.id, coalesce(c.devices, 0) AS devices FROM donations d
  LEFT JOIN donation_counts c ON c.donation_id = d.id ORDER BY d.id
"""


async def _agree(db: asyncpg.Pool) -> dict[int, int]:
    scratch = [tuple(r) for r in await db.fetch(FROM_SCRATCH)]
    assert [tuple(r) for r in await db.fetch(KEPT)] == scratch
    return dict(scratch)  # type: ignore[arg-type]


async def test_the_count_follows_every_change_and_the_list_shows_it(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(7)
    await scene.tablets(3)
    other = await client.post(
        f"{API}/donations",
        headers=scene.admin.headers,
        json={"donor_id": scene.donor_id, "province_code": DIEN_BIEN, "reference": "COUNT-2"},
    )
    assert other.status_code == 201, other.text
    second = other.json()["id"]
    counts = await _agree(db)
    assert counts[scene.donation_id] >= 10 and counts[second] == 0

    # By hand: a device moved to the other donation (and another change that is not).
    moved = await db.fetchval(
        "SELECT id FROM devices WHERE donation_id = $1 ORDER BY id LIMIT 1", scene.donation_id
    )
    await db.execute("UPDATE devices SET donation_id = $1 WHERE id = $2", second, moved)
    await db.execute("UPDATE devices SET note = 'touched' WHERE donation_id = $1", second)
    # Two inserted in one statement (no history: the app never does this), one deleted.
    donor = await db.fetchval("SELECT donor_id FROM donations WHERE id = $1", second)
    await db.execute(
        """INSERT INTO devices (asset_tag, province_code, kind, status, condition, donation_id,
                                donor_id, serial)
           SELECT 'BYHAND-' || i, $1, 'tablet', 'in_stock', 'good', $2, $3, 'BYHAND-' || i
             FROM generate_series(1, 2) AS i""",
        DIEN_BIEN,
        second,
        donor,
    )
    await db.execute("DELETE FROM devices WHERE asset_tag = 'BYHAND-1'")
    after = await _agree(db)
    assert after[scene.donation_id] == counts[scene.donation_id] - 1
    assert after[second] == 2

    listed = await client.get(f"{API}/donations", headers=scene.admin.headers)
    assert listed.status_code == 200, listed.text
    received = {d["id"]: d["received_total"] for d in listed.json()["items"]}
    assert received == {k: v for k, v in after.items() if k in received}
    assert set(received) >= {scene.donation_id, second}

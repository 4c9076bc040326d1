"""A donor's "students reached" and "students with a device now", as the impact report gives
them to each role: counted from `donor_students`, which triggers keep from the loans
(migration 0040), and always equal to what the loans themselves say."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import DIEN_BIEN, LAI_CHAU, Factory
from tests.lifecycle_helpers import API, Scene, make_scene

# The definition the table keeps: per donor, student and the devices' province, the loans
# still open — read straight from the loans.
FROM_THE_LOANS = """
    SELECT d.donor_id, a.student_id, d.province_code,
           count(*) FILTER (WHERE a.returned_at IS NULL) AS open_loans
      FROM assignments a JOIN devices d ON d.id = a.device_id
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
KEPT = "SELECT donor_id, student_id, province_code, open_loans FROM donor_students ORDER BY 1, 2, 3"


async def reach(scene: Scene, caller: Any) -> tuple[int, int]:
    answer = await scene.client.get(
        f"{API}/reports/donors/{scene.donor_id}/impact", headers=caller.headers
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["students_reached"], body["students_with_device_now"]


async def agree(db: asyncpg.Pool) -> None:
    assert [tuple(r) for r in await db.fetch(KEPT)] == [
        tuple(r) for r in await db.fetch(FROM_THE_LOANS)
    ]


async def test_students_reached_follow_every_loan_for_every_role(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    t1, t2, t3 = await scene.tablets(3)
    await scene.at_school([t1, t2], scene.school_a)
    await scene.at_school([t3], scene.school_b)
    s1 = await scene.consenting_student(scene.school_a)
    s2 = await scene.consenting_student(scene.school_a)
    s3 = await scene.consenting_student(scene.school_b)
    await scene.lend(t1, s1)
    second = await scene.lend(t2, s2)
    await scene.lend(t3, s3, caller=scene.staff_b)
    assert await reach(scene, scene.donor) == (3, 3)
    await agree(db)

    # s2 gives the tablet back; s1 then borrows it too: s2 was reached but holds nothing,
    # s1 holds two of the donor's tablets and counts once.
    returned = await client.post(
        f"{API}/assignments/{second['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": True},
    )
    assert returned.status_code == 200, returned.text
    await scene.lend(t2, s1)
    assert await reach(scene, scene.donor) == (3, 2)
    await agree(db)

    # The same donor gives to Lai Châu; a student there borrows one.
    gift = await client.post(
        f"{API}/donations",
        headers=scene.officer_other.headers,
        json={"donor_id": scene.donor_id, "province_code": LAI_CHAU, "reference": "LC-2"},
    )
    assert gift.status_code == 201, gift.text
    made = await client.post(
        f"{API}/donations/{gift.json()['id']}/devices",
        headers=scene.officer_other.headers,
        json=[{"kind": "tablet", "serial": "REACH-LC-1"}],
    )
    assert made.status_code == 201, made.text
    (t4,) = made.json()["asset_tags"]
    allocated = await client.post(
        f"{API}/allocations",
        headers=scene.officer_other.headers,
        json={"school_id": scene.school_c, "asset_tags": [t4]},
    )
    assert allocated.status_code == 201, allocated.text
    received = await client.post(
        f"{API}/schools/{scene.school_c}/receipts",
        headers=scene.staff_c.headers,
        json={"asset_tags": [t4]},
    )
    assert received.status_code == 200, received.text
    s4 = await scene.student(scene.school_c, caller=scene.staff_c)
    await scene.consent(s4["id"])
    await scene.lend(t4, s4["id"], caller=scene.staff_c)
    await agree(db)

    # Each role sees its share: the donor and admins all of it, each officer their province's.
    assert await reach(scene, scene.donor) == (4, 3)
    assert await reach(scene, scene.admin) == (4, 3)
    assert await reach(scene, scene.officer) == (3, 2)
    assert await reach(scene, scene.officer_other) == (1, 1)
    # School staff have no impact report.
    staff = await client.get(
        f"{API}/reports/donors/{scene.donor_id}/impact", headers=scene.staff_a.headers
    )
    assert staff.status_code == 403

    # A device moved to another donor's gift (a correction made in SQL, as an operator
    # would): its loans count for the new donor, and no longer for the old.
    other = await factory.donor()
    moved = await client.post(
        f"{API}/donations",
        headers=scene.officer.headers,
        json={"donor_id": other, "province_code": DIEN_BIEN, "reference": "MOVED"},
    )
    assert moved.status_code == 201, moved.text
    other_gift = moved.json()["id"]
    await db.execute(
        "UPDATE devices SET donation_id = $1, donor_id = $2 WHERE asset_tag = $3",
        other_gift,
        other,
        t3,
    )
    await agree(db)
    assert await reach(scene, scene.donor) == (3, 2)
    assert await reach(scene, scene.officer) == (2, 1)

"""The schools a donor's devices reached: the impact report names the 100 holding most of
them and counts them all; `/reports/donors/{id}/schools` pages through every one, each
role seeing its own share (a donor its own, an officer their province's)."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.reports import service
from tests.factories import LAI_CHAU, Caller, Factory
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser


async def _in_lai_chau(scene: Scene, n: int) -> None:
    """`n` of the donor's tablets given to Lai Châu and received at school C."""
    client, officer = scene.client, scene.officer_other
    gift = await client.post(
        f"{API}/donations",
        headers=officer.headers,
        json={"donor_id": scene.donor_id, "province_code": LAI_CHAU, "reference": "REACH-C"},
    )
    assert gift.status_code == 201, gift.text
    made = await client.post(
        f"{API}/donations/{gift.json()['id']}/devices",
        headers=officer.headers,
        json=[{"kind": "tablet", "serial": f"REACH-C-{i}"} for i in range(n)],
    )
    assert made.status_code == 201, made.text
    tags = made.json()["asset_tags"]
    allocated = await client.post(
        f"{API}/allocations",
        headers=officer.headers,
        json={"school_id": scene.school_c, "asset_tags": tags},
    )
    assert allocated.status_code == 201, allocated.text


async def _pages(scene: Scene, caller: Caller, limit: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    cursor = None
    totals = set()
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = await scene.client.get(
            f"{API}/reports/donors/{scene.donor_id}/schools", params=params, headers=caller.headers
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= limit
        items += [(s["school_id"], s["devices"]) for s in body["items"]]
        totals.add(body["total_items"])
        if (cursor := body["next_cursor"]) is None:
            break
    (total,) = totals
    return items, total


async def test_every_school_reached_pages_for_each_role(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tablets = await scene.tablets(6)
    await scene.at_school(tablets[:3], scene.school_a)
    await scene.at_school(tablets[3:4], scene.school_b)
    # Two still in the province's stock: they reached no school.
    await _in_lai_chau(scene, 2)  # allocated to C: on their way, held by the school

    everything = [(scene.school_a, 3), (scene.school_c, 2), (scene.school_b, 1)]
    for caller, expected in (
        (scene.donor, everything),
        (scene.admin, everything),
        (scene.officer, [(scene.school_a, 3), (scene.school_b, 1)]),
        (scene.officer_other, [(scene.school_c, 2)]),
    ):
        assert await _pages(scene, caller, 1) == (expected, len(expected))
        assert await _pages(scene, caller, 100) == (expected, len(expected))
        impact = await client.get(
            f"{API}/reports/donors/{scene.donor_id}/impact", headers=caller.headers
        )
        assert impact.status_code == 200, impact.text
        body = impact.json()
        assert [(s["school_id"], s["devices"]) for s in body["schools_reached"]] == expected
        assert body["schools_reached_total"] == len(expected)
        assert body["provinces_reached"] == len(
            {s["province_code"] for s in body["schools_reached"]}
        )
        assert body["communes_reached"] == len({s["commune_code"] for s in body["schools_reached"]})

    # School staff have no impact report; another donor does not learn this one exists.
    other = await factory.donor_user(await factory.donor())
    for caller, status in ((scene.staff_a, 403), (other, 404)):
        refused = await client.get(
            f"{API}/reports/donors/{scene.donor_id}/schools", headers=caller.headers
        )
        assert refused.status_code == status, refused.text
    # A cursor this server did not write is named.
    bad = await client.get(
        f"{API}/reports/donors/{scene.donor_id}/schools",
        params={"cursor": "junk"},
        headers=scene.donor.headers,
    )
    assert bad.status_code in (400, 422) and "cursor" in bad.text


async def test_the_impact_names_the_schools_holding_most_and_counts_the_rest(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    shown = service.SCHOOLS_REACHED_SHOWN
    # More schools than the report names: one device each, and three at school A.
    schools = [await factory.school() for _ in range(shown + 1)]
    tablets = await scene.tablets(shown + 4)
    await scene.at_school(tablets[:3], scene.school_a)
    for school, tag in zip(schools, tablets[3:], strict=True):
        await scene.allocate([tag], school)
    impact = await client.get(
        f"{API}/reports/donors/{scene.donor_id}/impact", headers=scene.donor.headers
    )
    body = impact.json()
    assert body["schools_reached_total"] == shown + 2
    assert len(body["schools_reached"]) == shown
    assert body["schools_reached"][0] == {
        **body["schools_reached"][0],
        "school_id": scene.school_a,
        "devices": 3,
    }
    page = await client.get("/donor", headers=browser(scene.donor))
    assert page.status_code == 200
    assert f"The {shown} schools with the most of these devices, of {shown + 2} reached" in (
        page.text
    )
    # Ties (a hundred schools with one device each) page in one order, each school once:
    # by name, then id.
    paged, total = await _pages(scene, scene.donor, 7)
    assert total == shown + 2 and len(paged) == len({s for s, _ in paged}) == shown + 2
    names = dict(
        await db.fetch("SELECT id, name FROM schools WHERE id = ANY($1::int[])", [*schools])
    )
    ones = [s for s, n in paged if n == 1]
    assert ones == sorted(ones, key=lambda s: (names.get(s, ""), s))

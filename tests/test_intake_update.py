"""Bulk update of registered devices (`mode=update`): matched by tag within the donation,
all or nothing, and a device at a school moves that school's counters (taking the counter
row first, like every other write that does)."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import API, make_scene


async def test_update_mode_changes_devices_and_their_school_counters(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    at_school, in_stock = await scene.tablets(2)
    await scene.at_school([at_school])
    counters = "SELECT devices_held, devices_working FROM school_counts WHERE school_id = $1"
    assert tuple(await db.fetchrow(counters, scene.school_a)) == (1, 1)
    csv = f"asset_tag,condition,note\n{at_school},broken,màn hình vỡ\n{in_stock},fair,\n"
    response = await client.post(
        f"{API}/donations/{scene.donation_id}/devices?mode=update",
        headers=scene.officer.headers,
        files={"file": ("update.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code in (200, 201), response.text
    assert response.json()["updated"] == 2
    assert (await scene.device(at_school))["condition"] == "broken"
    assert (await scene.device(in_stock))["condition"] == "fair"
    # Broken: still held by the school, no longer working.
    assert tuple(await db.fetchrow(counters, scene.school_a)) == (1, 0)

    refused = await client.post(
        f"{API}/donations/{scene.donation_id}/devices?mode=update",
        headers=scene.officer.headers,
        files={
            "file": ("update.csv", f"asset_tag,condition\n{in_stock},shiny\n".encode(), "text/csv")
        },
    )
    assert refused.status_code == 422
    assert (await scene.device(in_stock))["condition"] == "fair"

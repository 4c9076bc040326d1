"""In collect mode, scanning the label of a SIM that sits in a lent tablet says which
device to scan, instead of the contradiction "not on loan (Lent to a student)": found by
a new user on the Vietnamese collect page of the demo. Real HTTP, real PostgreSQL."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, form


async def test_a_sims_label_in_collect_mode_names_the_device_to_scan(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tablet,) = await scene.tablets(1)
    (sim,) = await scene.intake({"kind": "sim", "iccid": "8984040000000000035"})
    await scene.at_school([tablet])
    installed = await web.post(
        f"/devices/{tablet}/actions/install-sim",
        data=form(scene.officer, sim="8984040000000000035"),
        headers=browser(scene.officer),
    )
    assert installed.status_code == 303, installed.text
    await scene.lend(tablet, await scene.consenting_student())

    staff = browser(scene.staff_a, "vi")
    refused = await web.post(
        f"/schools/{scene.school_a}/collect", data=form(scene.staff_a, code=sim), headers=staff
    )
    assert refused.status_code == 409, refused.text
    assert f"{sim} là SIM lắp trong {tablet}: hãy quét {tablet} để thu hồi." in refused.text
    assert await db.fetchval("SELECT count(*) FROM assignments WHERE returned_at IS NULL") == 1

    collected = await web.post(
        f"/schools/{scene.school_a}/collect", data=form(scene.staff_a, code=tablet), headers=staff
    )
    assert collected.status_code in (200, 303), collected.text
    assert await db.fetchval("SELECT count(*) FROM assignments WHERE returned_at IS NULL") == 0

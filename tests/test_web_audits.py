"""Audit mode through the pages: scanning by form and by the offline batch, and closing."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, form


async def test_audit_by_forms_and_by_the_offline_batch(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(3)
    await scene.at_school(tags)
    started = await web.post(
        f"/schools/{scene.school_a}/audits",
        data=form(scene.staff_a, location="Phòng tin học"),
        headers=browser(scene.staff_a),
    )
    assert started.status_code == 303
    audit_url = started.headers["location"]
    one = await web.post(
        f"{audit_url}/scan", data=form(scene.staff_a, code=tags[0]), headers=browser(scene.staff_a)
    )
    assert one.status_code == 303 and one.headers["location"].endswith("last=ok")
    stranger = await web.post(
        f"{audit_url}/scan", data=form(scene.staff_a, code="ZZZ-1"), headers=browser(scene.staff_a)
    )
    assert stranger.headers["location"].endswith("last=unexpected")
    told = await web.get(stranger.headers["location"], headers=browser(scene.staff_a))
    assert "not expected at this school" in told.text
    batch = await web.post(
        f"{audit_url}/scans.json",
        json={
            "scans": [
                {"code": tags[1], "scanned_at": datetime.now(UTC).isoformat()},
                {"code": "rác"},
            ]
        },
        headers=browser(scene.staff_a) | {"X-CSRF-Token": form(scene.staff_a)["_csrf"]},
    )
    assert batch.status_code == 200 and batch.json()["found_so_far"] == 2
    assert batch.json()["unexpected"] == ["rác"]
    live = await web.get(audit_url, headers=browser(scene.staff_a))
    assert "data-found>2<" in live.text.replace(" ", "")
    # Closing asks first, showing what it would mark missing; nothing is closed yet.
    asked = await web.post(
        f"{audit_url}/close", data=form(scene.staff_a), headers=browser(scene.staff_a)
    )
    assert asked.status_code == 200 and tags[2] in asked.text and 'name="confirm"' in asked.text
    assert await db.fetchval("SELECT count(*) FROM audits WHERE closed_at IS NOT NULL") == 0
    closed = await web.post(
        f"{audit_url}/close", data=form(scene.staff_a, confirm="1"), headers=browser(scene.staff_a)
    )
    assert closed.status_code == 303
    result = await web.get(audit_url, headers=browser(scene.staff_a))
    assert tags[2] in result.text and "Missing 1" in result.text


async def test_closing_an_empty_audit_comes_back_to_the_audit_with_the_reason(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await scene.at_school(await scene.tablets(2))
    started = await web.post(
        f"/schools/{scene.school_a}/audits",
        data=form(scene.staff_a),
        headers=browser(scene.staff_a),
    )
    audit_url = started.headers["location"]
    closed = await web.post(
        f"{audit_url}/close", data=form(scene.staff_a), headers=browser(scene.staff_a, "vi")
    )
    assert closed.status_code == 409
    assert "chưa quét thiết bị nào" in closed.text and f'action="{audit_url}/close"' in closed.text
    assert await db.fetchval("SELECT count(*) FROM audits WHERE closed_at IS NOT NULL") == 0

"""Light pages in a real browser (Debian's Chromium, at a phone's width): lending at a
school of 500+ students by typing part of a name without its accents, and the static
files taken from the browser's cache on the next page instead of asked for again."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.test_page_weight import import_students
from tests.test_web_browser import (  # noqa: F401 - fixtures, found by pytest by name
    check_accessibility,
    chromium,
    live_server,
    shot,
    sign_in,
    user,
)
from tests.test_web_browser import phone as phone


async def test_lending_at_a_big_school_by_typing_a_name_without_accents(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    (tablet,) = await scene.tablets(1)
    await scene.at_school([tablet])
    await import_students(client, scene.staff_a.headers, scene.school_a, 520)
    her = await db.fetchval("SELECT id FROM students WHERE student_code = 'HSX9999'")
    await scene.consent(her)
    await user(factory, "school_staff", "co.giao@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "co.giao@truong.vn")
    await page.goto(f"/devices/{tablet}/lend")
    # The stylesheet and script come from the browser's cache: nothing crossed the network
    # for them (a year's immutable cache, so not even a revalidation round trip).
    transferred = await page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter(r => r.name.includes('/static/'))
            .map(r => [r.name, r.transferSize])"""
    )
    assert len(transferred) >= 2 and all(size == 0 for _, size in transferred), transferred
    rows = page.locator("[data-lend-results] input[name=student_id]")
    assert await rows.count() == 20
    await page.locator("#lq").press_sequentially("thi anh", delay=40)
    her_row = page.locator(f"[data-lend-results] input[name=student_id][value='{her}']")
    await her_row.wait_for()
    assert await rows.count() == 1
    assert page.url.endswith(f"/devices/{tablet}/lend")  # found without leaving the page
    await check_accessibility(page)
    await shot(page, "school-lend-search")
    await her_row.check()
    await page.click("form[action$='/lend'] button[type=submit]")
    await page.wait_for_url(f"**/devices/{tablet}?done=*")
    assert "Lường Thị Ánh" in await page.content()
    loan = await db.fetchrow(
        "SELECT a.student_id FROM assignments a JOIN devices d ON d.id = a.device_id"
        " WHERE d.asset_tag = $1 AND a.returned_at IS NULL",
        tablet,
    )
    assert loan is not None and loan["student_id"] == her

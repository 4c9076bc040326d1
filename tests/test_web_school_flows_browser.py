"""Issue #14's school journeys in a real browser (Debian's Chromium, 360 px wide):
receiving a pasted list keeps every line, and an audit tells lent devices from missing
ones, shows what is still to find, never calls a typo good, and asks before closing."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.test_web_browser import (  # noqa: F401 - fixtures, found by pytest by name
    check_accessibility,
    chromium,
    live_server,
    shot,
    sign_in,
    user,
)
from tests.test_web_browser import phone as phone


async def _until(check: Any, what: str) -> None:
    """Poll from Python (the pages' CSP forbids evaluating strings as script)."""
    for _ in range(150):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(what)


async def test_a_pasted_list_is_received_line_by_line_and_nothing_is_lost(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.allocate(tags)
    await user(factory, "school_staff", "nhan.hang@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "nhan.hang@truong.vn")
    await page.goto(f"/schools/{scene.school_a}/receive")
    waiting = page.locator("[data-waiting] li[data-tag]")
    assert await waiting.count() == 4

    # Two tags pasted at once (the case: only the last one used to arrive), then
    # Enter; then a typo and a word that is no tag at all.
    area = page.locator("#tags")
    await area.fill(f"{tags[0]}\n{tags[1]}")
    await area.press("Enter")
    await page.locator("[data-received]").filter(has_text="2").wait_for()
    typo = tags[2][:-1] + ("0" if tags[2][-1] != "0" else "1")
    await area.fill(f"{typo}\n0912345678")
    await area.press("Enter")
    await page.locator("[data-discrepancies]").filter(has_text="2").wait_for()
    log = await page.locator("[data-log]").inner_text()
    assert typo in log and "0912345678" in log and tags[0] in log and tags[1] in log
    # The list of what is still to come follows the scanning, without a reload.
    assert await waiting.count() == 2
    assert await page.locator("[data-waiting-count]").inner_text() == "2"
    assert sorted([await li.get_attribute("data-tag") for li in await waiting.all()]) == sorted(
        tags[2:]
    )
    assert await area.input_value() == ""
    await check_accessibility(page)  # no sideways scrolling at 360 px among the checks
    await shot(page, "school-receive-pasted-list")
    statuses = dict(await db.fetch("SELECT asset_tag, status FROM devices"))
    assert [statuses[t] for t in tags] == ["at_school", "at_school", "allocated", "allocated"]

    # The button does what Enter does: the last two, pasted with a blank line between.
    await area.fill(f"{tags[2]}\n\n{tags[3]}\n")
    await page.click("[data-receive] button[type=submit]")
    await page.locator("[data-received]").filter(has_text="4").wait_for()
    assert page.url.endswith(f"/schools/{scene.school_a}/receive")
    assert await waiting.count() == 0
    assert await page.locator("[data-waiting] [data-nothing]").is_visible()
    statuses = dict(await db.fetch("SELECT asset_tag, status FROM devices"))
    assert {statuses[t] for t in tags} == {"at_school"}

"""#14 item 4 in a real browser at a phone's width: an officer who allocated 50 tablets sees
them on their way on the dashboard, the school ranked by what it still needs after they
arrive (not first any more), and the allocation form shows the stock per kind before
anything is submitted."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.coverage_helpers import enrol
from tests.factories import DIEN_BIEN, Factory
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


async def test_an_officer_sees_devices_on_their_way_and_the_stock_before_allocating(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    await enrol(db, scene.school_a, 60)
    await enrol(db, scene.school_b, 40)
    await scene.allocate(await scene.tablets(50), scene.school_a)
    await scene.intake(*({"kind": "laptop", "serial": f"L-PH-{i}"} for i in range(5)))
    await user(factory, "province_officer", "can.bo@dienbien.gov.vn", province=DIEN_BIEN)
    page = await phone.new_page()
    await sign_in(page, "can.bo@dienbien.gov.vn")
    assert page.url.endswith("/province")
    tiles = await page.locator(".tiles").inner_text()
    assert "50" in tiles and "thiết bị đang trên đường đến trường" in tiles
    # Largest gaps after delivery: B (40 still needed) before A (60 − 50 = 10).
    gaps = page.locator("section.card", has_text="Thiếu nhiều nhất").locator("svg a")
    ranked = [await gaps.nth(i).get_attribute("href") for i in range(await gaps.count())]
    assert ranked[:2] == [f"/schools/{scene.school_b}", f"/schools/{scene.school_a}"], ranked
    await check_accessibility(page)
    await shot(page, "province-incoming")

    await page.goto(f"/schools/{scene.school_b}/allocate")
    stock = await page.locator("main").inner_text()
    assert "Máy tính xách tay 5" in stock, stock
    options = await page.locator("select[name=kind] option").all_inner_texts()
    assert any("Máy tính xách tay (còn 5 trong kho)" in o for o in options), options
    await check_accessibility(page)
    await shot(page, "allocate-stock")

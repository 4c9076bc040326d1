"""The end-of-year collection takes a scan from the camera or a photo, not only from a
scanner that types: the tag goes into the collection's own box and the loan is closed,
instead of the scan box opening the device page and leaving collect mode (found by a new
user on a phone without BarcodeDetector, like iPhone Safari; Debian's Chromium has none)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.test_web_browser import (  # the same live server, browser and phone
    chromium,
    live_server,
    phone,
    shot,
    sign_in,
    user,
)
from tests.test_web_photo_browser import _photo_of

__all__ = ["chromium", "live_server", "phone"]  # fixtures used by name


async def test_a_photo_of_a_label_collects_that_device(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.at_school(tags)
    for tag in tags:
        await scene.lend(tag, await scene.consenting_student(class_name="6A"))
    await user(factory, "school_staff", "thu.hoi@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "thu.hoi@truong.vn")
    if await page.evaluate("'BarcodeDetector' in window"):
        pytest.skip("this Chromium has BarcodeDetector: the photo button is not offered")

    await page.goto(f"/schools/{scene.school_a}/collect")
    button = page.locator("main [data-photo]")
    assert await button.is_visible()
    photo = await _photo_of(client, scene.officer, tags[1:])
    await button.locator("input").set_input_files(
        {"name": "IMG_0050.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    await page.locator("[data-collected]").filter(has_text=tags[1]).wait_for()
    await shot(page, "school-collect-photo")
    assert page.url.endswith(f"/schools/{scene.school_a}/collect")
    open_loans = await db.fetch(
        "SELECT d.asset_tag FROM assignments a JOIN devices d ON d.id = a.device_id"
        " WHERE a.returned_at IS NULL"
    )
    assert [r["asset_tag"] for r in open_loans] == [tags[0]]

""" "Take a photo" in a real browser without BarcodeDetector (Debian's Chromium has none, like
iPhone Safari): a photo of a box of labels receives them all, and a photo taken from the
scan box opens the device."""

from __future__ import annotations

import io
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from tests.factories import Factory
from tests.lifecycle_helpers import API, make_scene
from tests.test_web_browser import (  # the same live server, browser and phone
    check_accessibility,
    chromium,
    live_server,
    phone,
    shot,
    sign_in,
    user,
)

__all__ = ["chromium", "live_server", "phone"]  # fixtures used by name


async def _photo_of(client: AsyncTestClient, caller: Any, tags: list[str]) -> bytes:
    """A JPEG of the tags' labels side by side on a grey table."""
    labels = []
    for tag in tags:
        png = await client.get(f"{API}/devices/{tag}/label.png", headers=caller.headers)
        labels.append(Image.open(io.BytesIO(png.content)).convert("RGB"))
    w, h = labels[0].size
    table = Image.new("RGB", (len(labels) * (w + 80) + 80, h + 160), (150, 150, 145))
    for i, label in enumerate(labels):
        table.paste(label, (80 + i * (w + 80), 80))
    out = io.BytesIO()
    table.save(out, "JPEG", quality=85)
    return out.getvalue()


async def test_a_photo_receives_a_box_and_opens_a_device(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.allocate(tags)
    await user(factory, "school_staff", "anh.chup@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "anh.chup@truong.vn")
    if await page.evaluate("'BarcodeDetector' in window"):
        pytest.skip("this Chromium has BarcodeDetector: the photo button is not offered")

    await page.goto(f"/schools/{scene.school_a}/receive")
    button = page.locator("[data-receive] [data-photo]")
    assert await button.is_visible()
    assert await button.locator("input").get_attribute("capture") == "environment"
    await check_accessibility(page)
    photo = await _photo_of(client, scene.officer, tags)
    await button.locator("input").set_input_files(
        {"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    await page.locator("[data-received]").filter(has_text="2").wait_for()
    await shot(page, "school-receive-photo")
    assert {r["status"] for r in await db.fetch("SELECT status FROM devices")} == {"at_school"}

    await page.goto(f"/schools/{scene.school_a}")
    single = await _photo_of(client, scene.officer, tags[1:])
    await page.locator(".scanbox [data-photo] input").set_input_files(
        {"name": "IMG_0043.jpg", "mimeType": "image/jpeg", "buffer": single}
    )
    await page.wait_for_url(f"**/devices/{tags[1]}")
    await shot(page, "device-from-photo")

    # A HEIC file (a phone that sent its own format) is refused with the reason shown.
    await page.locator(".scanbox [data-photo] input").set_input_files(
        {"name": "IMG_0044.heic", "mimeType": "image/heic", "buffer": b"\0\0\0\x18ftypheic" * 4}
    )
    note = page.locator("[data-photo-note]")
    await note.wait_for()
    assert "HEIC" in await note.inner_text()

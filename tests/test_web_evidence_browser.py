"""The signature pad in a real browser at phone width (Debian's Chromium, 360 px): a
finger's strokes on the lend page's canvas go to the server as a PNG kept with the loan
and drawn into the loan agreement; the end-of-year collection page takes a scanned tag and
fits the screen."""

from __future__ import annotations

import io
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient
from PIL import Image

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
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


async def test_a_guardian_signs_on_the_phone_and_the_signature_is_kept(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.at_school(tags)
    student = await scene.consenting_student(full_name="Lò Văn Minh", class_name="6A")
    await user(factory, "school_staff", "ky.ten@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "ky.ten@truong.vn")

    await page.goto(f"/devices/{tags[0]}/lend")
    canvas = page.locator("[data-pad-canvas]")
    assert await canvas.is_visible()  # the script showed the pad
    await page.click(f"input[name=student_id][value='{student}']")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    assert box is not None and box["width"] <= 360
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    await page.mouse.move(x + w * 0.1, y + h * 0.7)
    await page.mouse.down()
    for i in range(1, 11):
        await page.mouse.move(x + w * (0.1 + 0.08 * i), y + h * (0.3 if i % 2 else 0.7), steps=3)
    await page.mouse.up()
    # toBlob is asynchronous: the drawing reaches the file input a moment later (the
    # page's CSP forbids wait_for_function's eval, so poll with evaluate).
    for _ in range(50):
        if await page.evaluate("() => document.querySelector('[data-pad-file]').files.length"):
            break
        await page.wait_for_timeout(100)
    else:
        raise AssertionError("the pad's drawing never reached the form")
    await page.fill("#lend-signer", "Lò Văn Pọm")
    await check_accessibility(page)
    await shot(page, "lend-signature")
    await page.click("form[action$='/lend'] button[type=submit]")
    await page.wait_for_url(f"**/devices/{tags[0]}?done=*")
    row = await db.fetchrow("SELECT id, kind, signer, media_type, content FROM evidence")
    assert (row["kind"], row["signer"], row["media_type"]) == (
        "signature",
        "Lò Văn Pọm",
        "image/png",
    )
    drawn = Image.open(io.BytesIO(row["content"])).convert("RGBA")
    assert drawn.size == (600, 200)
    inked = sum(drawn.getchannel("A").histogram()[1:])
    assert inked > 500, inked  # strokes, not an empty canvas
    assert f'src="/evidence/{row["id"]}?thumb=1"' in await page.content()
    await check_accessibility(page)
    await shot(page, "device-with-signature")

    # The collection page on the same phone: scan the tag, the list shrinks.
    await page.goto(f"/schools/{scene.school_a}/collect")
    await check_accessibility(page)
    assert await page.locator("[data-outstanding]").inner_text() == "1"
    await page.fill("#code", tags[0])
    await page.press("#code", "Enter")
    await page.locator("[data-collected]").wait_for()
    assert await page.locator("[data-outstanding]").inner_text() == "0"
    await check_accessibility(page)
    await shot(page, "collect")
    assert (await scene.device(tags[0]))["status"] == "at_school"

"""Offline, the lend and return forms the phone draws for a device it never opened carry
the signature pad and the photo of the signed paper, like the forms it kept: a new user
lending offline found no place for the guardian's signature. The signature drawn offline
is kept with the loan once the connection returns. Chromium at a phone's width."""

from __future__ import annotations

from typing import Any

import asyncpg
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
from tests.test_web_offline_browser import KEPT, count_is, until

__all__ = ["chromium", "live_server", "phone"]  # fixtures used by name


async def _sign(page: Any, section: str) -> None:
    canvas = page.locator(f"{section} [data-pad-canvas]")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    assert box is not None, "the signature pad is not shown"
    await page.mouse.move(box["x"] + 20, box["y"] + 20)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 160, box["y"] + 60, steps=8)
    await page.mouse.up()


async def test_a_signature_drawn_offline_is_kept_with_the_loan_and_the_return(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    minh = await scene.consenting_student(full_name="Lò Văn Minh")
    await user(factory, "school_staff", "ky.ngoai.tuyen@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "ky.ngoai.tuyen@truong.vn")
    await until(page, "navigator.serviceWorker.ready.then(() => true)")
    await page.reload()
    await until(page, KEPT)

    await phone.set_offline(True)
    await page.goto(f"/devices/{tag}/lend")  # never opened: drawn from the snapshot
    await page.locator("[data-offline-lend]").wait_for()
    await page.click(f"input[name=student_id][value='{minh}']")
    await _sign(page, "[data-offline-lend]")
    await page.fill("[data-offline-lend] input[name=signer]", "Lò Văn Pọm")
    await shot(page, "offline-lend-signed")
    await page.click("[data-offline-lend] button[type=submit]")
    await count_is(page, 1)

    await page.goto(f"/devices/{tag}/return")
    await page.locator("[data-offline-return]").wait_for()
    await page.check("[data-offline-return] input[name=wiped]")
    await _sign(page, "[data-offline-return]")
    await page.click("[data-offline-return] button[type=submit]")
    await count_is(page, 2)

    await phone.set_offline(False)
    await page.locator("[data-outbox-waiting]").wait_for(state="hidden")
    rows = await db.fetch(
        "SELECT e.kind, e.signer, e.assignment_id IS NOT NULL AS of_loan, e.media_type"
        " FROM evidence e ORDER BY e.id"
    )
    assert [(r["kind"], r["signer"], r["of_loan"], r["media_type"]) for r in rows] == [
        ("signature", "Lò Văn Pọm", True, "image/png"),
        ("signature", None, True, "image/png"),
    ]
    loan = await db.fetchrow("SELECT returned_at, wiped FROM assignments")
    assert loan["returned_at"] is not None and loan["wiped"] is True

"""The lend page of a device that came back without a reset says so first and offers
"the reset is done", instead of letting staff pick a student, draw the guardian's signature
and attach a photo only to be refused: found by a new user on the Vietnamese lend page.
Real HTTP, real PostgreSQL."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser, csrf_in


async def test_the_lend_page_asks_for_the_reset_first(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    loan = await scene.lend(tag, student)
    back = await client.post(
        f"{API}/assignments/{loan['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": False},
    )
    assert back.status_code == 200, back.text
    staff = browser(scene.staff_a, "vi")

    page = await web.get(f"/devices/{tag}/lend", headers=staff)
    assert page.status_code == 200
    assert "khôi phục cài đặt gốc" in page.text
    assert f'action="/devices/{tag}/actions/wipe"' in page.text
    assert f'action="/devices/{tag}/lend"' not in page.text  # nothing to fill in vain

    reset = await web.post(
        f"/devices/{tag}/actions/wipe",
        headers=staff,
        data={"_csrf": csrf_in(page.text)},
    )
    assert reset.status_code in (302, 303), reset.text
    again = await web.get(f"/devices/{tag}/lend", headers=staff)
    assert f'action="/devices/{tag}/lend"' in again.text
    assert f'action="/devices/{tag}/actions/wipe"' not in again.text


async def test_the_lend_page_of_a_device_that_cannot_be_lent_says_why_first(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    lent, coming = await scene.tablets(2)
    await scene.at_school([lent])
    await scene.allocate([coming])  # on its way: not received yet
    await scene.lend(lent, await scene.consenting_student())
    staff = browser(scene.staff_a, "vi")
    for tag, status in ((lent, "Học sinh đang mượn"), (coming, "Đã phân bổ")):
        page = await web.get(f"/devices/{tag}/lend", headers=staff)
        assert page.status_code == 200
        assert f"Chưa thể cho mượn {tag} lúc này ({status})" in page.text
        assert f'href="/devices/{tag}"' in page.text
        assert f'action="/devices/{tag}/lend"' not in page.text

"""The demo the README's first command serves: loaded through the real services, once."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.demo.loader import DEMO_PASSWORD, load_demo


async def test_the_demo_has_a_story_to_show_and_loads_once(
    database_url: str, db: asyncpg.Pool, web: AsyncTestClient
) -> None:
    assert await load_demo(database_url) is True
    counts = dict(await db.fetch("SELECT status, count(*) FROM devices GROUP BY status"))
    assert counts == {"in_stock": 140, "allocated": 5, "at_school": 13, "assigned": 12}
    assert await db.fetchval("SELECT count(*) FROM audits WHERE closed_at IS NOT NULL") == 1
    assert await load_demo(database_url) is False  # a second start changes nothing
    assert await db.fetchval("SELECT count(*) FROM devices") == 170

    login = await web.get("/login")
    pre = login.cookies["dt_csrf"]
    signed_in = await web.post(
        "/login",
        data={"_csrf": pre, "email": "school@demo.devicetrack.vn", "password": DEMO_PASSWORD},
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    assert signed_in.status_code == 303
    token = signed_in.cookies["dt_session"]
    home = await web.get("/", headers={"Cookie": f"dt_session={token}"})
    school = await web.get(home.headers["location"], headers={"Cookie": f"dt_session={token}"})
    assert school.status_code == 200 and "Galaxy Tab A9" in school.text

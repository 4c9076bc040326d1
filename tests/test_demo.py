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
    # 45 received at the school (35 tablets and the 10 SIMs inside the telecom's), 18 of
    # them lent (15 tablets, 3 with their SIM), 5 on the road.
    assert counts == {"in_stock": 410, "allocated": 5, "at_school": 27, "assigned": 18}
    # Two donations: a foundation's mixed batch and a telecom's connected tablets.
    kinds = {
        (r["kind"], r["kind_of_donor"]): r["n"]
        for r in await db.fetch(
            """SELECT d.kind, o.kind AS kind_of_donor, count(*) AS n FROM devices d
                 JOIN donors o ON o.id = d.donor_id GROUP BY 1, 2"""
        )
    }
    assert kinds == {
        ("tablet", "foundation"): 100,
        ("laptop", "foundation"): 40,
        ("desktop", "foundation"): 20,
        ("smartphone", "foundation"): 60,
        ("tablet", "telecom"): 120,
        ("sim", "telecom"): 120,
    }
    sims = await db.fetch(
        """SELECT s.carrier, s.plan_expires_on - current_date AS days_left, h.kind AS host
             FROM devices s LEFT JOIN devices h ON h.id = s.installed_in_id
            WHERE s.kind = 'sim'"""
    )
    assert all(r["host"] == "tablet" for r in sims)  # every SIM is in a tablet
    assert {r["carrier"] for r in sims} == {"viettel", "vinaphone"}
    assert all(85 <= r["days_left"] <= 95 for r in sims)  # free data ends in three months
    assert await db.fetchval("SELECT count(*) FROM audits WHERE closed_at IS NOT NULL") == 1
    assert await load_demo(database_url) is False  # a second start changes nothing
    assert await db.fetchval("SELECT count(*) FROM devices") == 460

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

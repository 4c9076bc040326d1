"""The SIM expiry list in pages: the province's page shows a hundred SIMs at a time and goes
on after the last one shown ("More"), the API's `sims_after` and `sims_limit` do the same,
and neither a page nor the Excel files read the students' names (they show counts)."""

from __future__ import annotations

import re
from datetime import timedelta

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from devicetrack.web import pages_province_lists
from tests.factories import Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser


def iccid(n: int) -> str:
    """A valid ICCID (Luhn check digit) for a test SIM."""
    body = f"898404100000000{n:03d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


async def test_the_sims_come_in_pages_in_the_page_and_the_api(
    client: AsyncTestClient,
    web: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = await make_scene(client, db, factory)
    days = [3, 3, 3, 9, 20]  # three end the same day: the tag breaks the tie
    tags = await scene.intake(
        *(
            {
                "kind": "sim",
                "iccid": iccid(i),
                "plan_expires_on": (local_today() + timedelta(days=d)).isoformat(),
            }
            for i, d in enumerate(days)
        )
    )
    order = [t for _, t in sorted(zip(days, tags, strict=True))]
    # The API, two at a time.
    listed: list[str] = []
    after: str | None = None
    while True:
        params = {"sims_limit": "2", **({"sims_after": after} if after else {})}
        answer = await client.get(
            f"{API}/reports/sim-expiry", params=params, headers=scene.officer.headers
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total_sims"] == 5
        listed += [s["asset_tag"] for s in body["sims"]]
        if not body["sims_truncated"]:
            break
        after = body["sims"][-1]["asset_tag"]
    assert listed == order
    # A tag that is not one of these SIMs (never was, or renewed since: a program walking
    # the list would start it again unawares) is refused by name; so is a limit out of range.
    await db.execute(
        "UPDATE devices SET plan_expires_on = plan_expires_on + 400 WHERE asset_tag = $1",
        order[1],
    )
    for gone in ("NO-SUCH-TAG", order[1]):
        odd = await client.get(
            f"{API}/reports/sim-expiry",
            params={"sims_after": gone, "sims_limit": "2"},
            headers=scene.officer.headers,
        )
        assert odd.status_code == 409, odd.text
        assert [e["field"] for e in odd.json()["errors"]] == ["sims_after"]
    # The page, whose reader followed "More" past a SIM renewed since, starts from the top.
    page = await web.get(f"/province/sims?days=30&after={order[1]}", headers=browser(scene.officer))
    assert page.status_code == 200 and order[0] in page.text
    await db.execute(
        "UPDATE devices SET plan_expires_on = plan_expires_on - 400 WHERE asset_tag = $1",
        order[1],
    )
    refused = await client.get(
        f"{API}/reports/sim-expiry", params={"sims_limit": "0"}, headers=scene.officer.headers
    )
    assert refused.status_code == 400 and "sims_limit" in refused.text

    # The page, two at a time, following "More".
    monkeypatch.setattr(pages_province_lists, "SIMS_PER_PAGE", 2)
    shown: list[str] = []
    url = "/province/sims?days=30"
    for _ in range(5):
        page = await web.get(url, headers=browser(scene.officer, "en"))
        assert page.status_code == 200
        part = page.text.split('id="sims"')[1]
        shown += re.findall(r'<td><a href="/devices/([^"]+)">', part)
        more = re.search(r'href="(/province/sims\?[^"]*after=[^"]+)"', page.text)
        if more is None:
            break
        url = more.group(1).replace("&amp;", "&")
        assert "days=30" in url
    assert shown == order
    # An admin's page keeps the province in its link.
    page = await web.get("/province/sims?province=11", headers=browser(scene.admin, "en"))
    assert re.search(r"/province/sims\?days=30(&amp;|&)province=11(&amp;|&)after=", page.text)


async def test_the_schools_come_in_pages_naming_only_their_students(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """`items` (one group per school, soonest first) is a list like any other: `limit`
    schools a page and `next_cursor`; `total_sims` counts every page's; the students are
    named (and their reads logged) for the page's schools only."""
    scene = await make_scene(client, db, factory)
    soon = [local_today() + timedelta(days=d) for d in (2, 5, 9)]
    sims = await scene.intake(
        *(
            {"kind": "sim", "iccid": iccid(40 + i), "plan_expires_on": d.isoformat()}
            for i, d in enumerate(soon)
        )
    )
    tablets = await scene.tablets(2)
    await scene.at_school([sims[0], tablets[0]], scene.school_a)
    await scene.at_school([sims[1], tablets[1]], scene.school_b)
    # sims[2] stays in the province's stock: its group has no school.
    named = {}
    for sim, tablet, school, staff in (
        (sims[0], tablets[0], scene.school_a, scene.staff_a),
        (sims[1], tablets[1], scene.school_b, scene.staff_b),
    ):
        await scene.act(scene.officer, tablet, "install-sim", sim=sim)
        student = await scene.consenting_student(school)
        await scene.lend(tablet, student, caller=staff)
        named[school] = student

    pages, cursor = [], None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        answer = await client.get(
            f"{API}/reports/sim-expiry", params=params, headers=scene.admin.headers
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total_sims"] == 3 and len(body["items"]) == 1
        pages.append(body["items"][0])
        await_log = await db.fetch("SELECT DISTINCT student_id FROM student_access_log")
        # Each page names (and logs) its own school's student, none of the next.
        assert {r["student_id"] for r in await_log} <= set(named.values())
        cursor = body["next_cursor"]
        if cursor is None:
            break
        if len(pages) == 1:
            assert {r["student_id"] for r in await_log} == {named[scene.school_a]}
    assert [p["school_id"] for p in pages] == [scene.school_a, scene.school_b, None]
    assert [[s["student_id"] for s in p["students"] or []] for p in pages] == [
        [named[scene.school_a]],
        [named[scene.school_b]],
        [],
    ]
    assert [p["students_affected"] for p in pages] == [1, 1, 0]
    # All at once with the default page; the officer sees counts, never names.
    whole = await client.get(f"{API}/reports/sim-expiry", headers=scene.officer.headers)
    assert [g["school_id"] for g in whole.json()["items"]] == [
        scene.school_a,
        scene.school_b,
        None,
    ]
    assert whole.json()["next_cursor"] is None
    assert all(g["students"] is None for g in whole.json()["items"])
    # A cursor this server did not write: a problem naming it, not a 500.
    for junk in ("junk", "djI6eHl6", "djI6MjAyNi0wMS0wMXwtNQ"):
        refused = await client.get(
            f"{API}/reports/sim-expiry", params={"cursor": junk}, headers=scene.admin.headers
        )
        assert refused.status_code == 422, (junk, refused.text)
        assert "cursor" in refused.text

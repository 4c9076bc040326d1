"""The lists a province's dashboard counts and links to, paged in PostgreSQL with their
totals counted there (issue #15): the audit-due schools come `schools_limit` a page with
`schools_total`, the gap report counts every school still short (`short_total`) while
listing the largest, and the dashboard's tiles and sentences show those counts."""

from __future__ import annotations

import re

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.web import pages_province_lists
from tests.coverage_helpers import enrol
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser


async def test_audit_due_schools_come_in_pages_with_their_total(
    client: AsyncTestClient,
    web: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = await make_scene(client, db, factory)
    extra = [await factory.school(DIEN_BIEN) for _ in range(3)]
    for n, school in enumerate([scene.school_a, scene.school_b, *extra]):
        tags = await scene.tablets(n + 1)
        await scene.allocate(tags, school)
        received = await client.post(
            f"{API}/schools/{school}/receipts",
            headers=scene.admin.headers,
            json={"asset_tags": tags},
        )
        assert received.status_code in (200, 201), received.text
    url = f"{API}/reports/audit-due"
    everything = await client.get(
        url,
        params={"province": DIEN_BIEN, "schools_limit": 1000},
        headers=scene.officer.headers,
    )
    assert everything.status_code == 200, everything.text
    whole = everything.json()
    listed = [s["school_id"] for s in whole["schools"]]
    assert whole["schools_total"] == len(listed) >= 5
    assert whole["schools_next_cursor"] is None
    # Most devices first: the extra school with 5 tablets before the one with 4.
    assert listed.index(extra[2]) < listed.index(extra[1])

    paged: list[int] = []
    params: dict[str, str | int] = {"province": DIEN_BIEN, "schools_limit": 2}
    for _ in range(len(listed)):
        answer = (await client.get(url, params=params, headers=scene.officer.headers)).json()
        assert len(answer["schools"]) <= 2
        assert answer["schools_total"] == len(listed)
        paged += [s["school_id"] for s in answer["schools"]]
        if answer["schools_next_cursor"] is None:
            break
        params["schools_cursor"] = answer["schools_next_cursor"]
    assert paged == listed

    # The default page is 50 schools (SPEC §6); a cursor this server did not issue is named.
    default = (await client.get(url, headers=scene.admin.headers)).json()
    assert len(default["schools"]) == min(50, default["schools_total"])
    bad = await client.get(url, params={"schools_cursor": "x"}, headers=scene.admin.headers)
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["schools_cursor"]

    # A school of another province is not there for the officer (it answered an empty list).
    other = await client.get(url, params={"school": scene.school_c}, headers=scene.officer.headers)
    assert other.status_code == 404, other.text
    own = await client.get(url, params={"school": extra[2]}, headers=scene.officer.headers)
    assert [s["school_id"] for s in own.json()["schools"]] == [extra[2]]

    # The dashboard's tile counts them without listing them.
    page = await web.get("/province", headers=browser(scene.officer, "en"))
    tile = re.search(r'<span class="num">([\d,.]+)</span> schools with an overdue audit', page.text)
    assert tile is not None and int(re.sub(r"\D", "", tile.group(1))) == len(listed)

    # The page lists them a page at a time, in the same order, with More.
    monkeypatch.setattr(pages_province_lists, "DUE_PER_PAGE", 2)
    shown: list[int] = []
    url = f"/province/audits?province={DIEN_BIEN}"
    for _ in range(len(listed)):
        page = await web.get(url, headers=browser(scene.admin, "en"))
        assert page.status_code == 200
        table = page.text.split('<table class="list">')[1].split("</table>")[0]
        found = [int(i) for i in re.findall(r'<a href="/schools/(\d+)">', table)]
        shown += found
        first, last = len(shown) - len(found) + 1, len(shown)
        assert f"Schools {first}–{last} of {len(listed)}, those holding most" in page.text
        more = re.search(r'href="(/province/audits\?[^"]*start=\d+)"', page.text)
        if more is None:
            break
        url = more.group(1).replace("&amp;", "&")
        assert f"province={DIEN_BIEN}" in url
    assert shown == listed
    # A position past the end (schools audited since), negative or absurd: from the top.
    for start in ("999", "-1", "99999999999999999999"):
        page = await web.get(
            f"/province/audits?province={DIEN_BIEN}&start={start}",
            headers=browser(scene.admin, "en"),
        )
        assert page.status_code == 200
        assert f"Schools 1–2 of {len(listed)}" in page.text


async def test_the_gap_report_counts_every_school_short_and_lists_the_largest(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    extra = [await factory.school(DIEN_BIEN) for _ in range(3)]
    for n, school in enumerate([scene.school_a, scene.school_b, *extra]):
        await enrol(db, school, 10 * (n + 1))
    await scene.at_school(await scene.tablets(10), scene.school_a)  # A: 10 of 10, not short
    coverage = await client.get(
        f"{API}/reports/coverage",
        params={"province": DIEN_BIEN, "level": "school", "limit": 1000},
        headers=scene.officer.headers,
    )
    short = sorted(
        (-row["gap_after_incoming"], row["school_id"])
        for row in coverage.json()["items"]
        if row["gap_after_incoming"] > 0
    )
    assert scene.school_a not in {school for _, school in short}
    assert len(short) >= 4
    for level in ("school", "commune"):
        gaps = await client.get(
            f"{API}/reports/gaps",
            params={"province": DIEN_BIEN, "level": level, "limit": 2},
            headers=scene.officer.headers,
        )
        assert gaps.status_code == 200, gaps.text
        report = gaps.json()
        assert len(report["items"]) <= 2
        if level == "school":
            assert report["short_total"] == len(short)
            assert [-i["gap_after_incoming"] for i in report["items"]] == [g for g, _ in short[:2]]
        else:
            assert report["short_total"] >= 1
    # The largest gaps' chart draws the largest schools' gaps, whether they come from the
    # table's first page (the default order) or are read apart (another order, a later page).
    for query in ("", "?sort=enrolled", "?start=2"):
        page = await web.get(f"/province{query}", headers=browser(scene.officer, "en"))
        assert f"Schools short of devices: {len(short)}." in page.text
        chart = page.text.split("Largest gaps")[1].split("</section>")[0]
        drawn = [int(i) for i in re.findall(r"/schools/(\d+)", chart)]
        assert drawn[:2] == [school for _, school in short[:2]], query

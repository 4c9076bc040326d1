"""The province dashboard at national size: the communes' and the province's figures added
up from the schools' report the page has read (the same as the reports' own roll-ups), and
the schools' table in pages that follow each other in the order chosen."""

from __future__ import annotations

import re

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.reports import service as reports
from devicetrack.reports.schemas import CoverageReport
from devicetrack.web import pages_province
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser


async def test_rollups_from_the_schools_equal_the_reports_rollups(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    extra = [await factory.school(DIEN_BIEN) for _ in range(3)]
    for n, school in enumerate([scene.school_a, scene.school_b, *extra]):
        await db.execute(
            """INSERT INTO enrolments (school_id, school_year, students_total, priority_students)
               VALUES ($1, '2026-2027', $2, $3)""",
            school,
            10 + 7 * n,
            n,
        )
    await scene.at_school(await scene.tablets(3))
    for who in (scene.admin, scene.officer):
        url = f"{API}/reports/coverage?province={DIEN_BIEN}&year=2026-2027&level="
        schools = msgspec.json.decode(
            (await client.get(url + "school", headers=who.headers)).content, type=CoverageReport
        )
        assert len(schools.items) >= 5
        for level, sort in (("commune", "-gap"), ("province", None)):
            answer = await client.get(f"{url}{level}&sort={sort or '-gap'}", headers=who.headers)
            expected = msgspec.json.decode(answer.content, type=CoverageReport)
            added = reports.rolled_up(schools, level, sort=sort or "-gap")
            assert msgspec.to_builtins(added) == msgspec.to_builtins(expected)
            if level == "commune":
                communes = expected
        # The dashboard's province: its communes added up.
        province = reports.rolled_up(communes, "province", sort="-gap")
        assert msgspec.to_builtins(province) == msgspec.to_builtins(expected)
        assert province.items[0].schools == len(schools.items)
    with pytest.raises(ValueError):
        reports.rolled_up(schools, "nation", sort=None)
    with pytest.raises(ValueError):
        reports.rolled_up(province, "commune", sort=None)


async def test_the_schools_table_comes_in_pages(
    client: AsyncTestClient,
    web: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = await make_scene(client, db, factory)
    for _ in range(3):
        await factory.school(DIEN_BIEN)
    total = await db.fetchval(
        "SELECT count(*) FROM schools WHERE province_code = $1 AND active", DIEN_BIEN
    )
    monkeypatch.setattr(pages_province, "SCHOOLS_PER_PAGE", 2)
    seen: list[str] = []
    url = "/province?sort=enrolled"
    for _ in range(total):
        page = await web.get(url, headers=browser(scene.officer, "en"))
        assert page.status_code == 200
        table = page.text.split('<table class="list coverage">')[1]
        rows = re.findall(r'<a href="/schools/(\d+)">', table)
        assert 1 <= len(rows) <= 2
        seen += rows
        assert f"of {total}, in the order chosen" in page.text
        more = re.search(r'href="(/province\?[^"]*start=\d+)"', page.text)
        if more is None:
            break
        url = more.group(1).replace("&amp;", "&")
        assert "sort=enrolled" in url
    assert len(seen) == len(set(seen)) == total
    # An admin's links keep the province; a position past the end (schools closed since
    # the link was made), negative or absurd starts from the top.
    for start in ("999999999", "-3", "99999999999999999999999"):
        page = await web.get(
            f"/province?province={DIEN_BIEN}&start={start}", headers=browser(scene.admin, "en")
        )
        assert page.status_code == 200
        assert f"/province?province={DIEN_BIEN}&amp;year=" in page.text
        assert f"Schools 1–2 of {total}" in page.text

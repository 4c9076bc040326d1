"""The coverage charts say what they show (issue #14, item 5): whole school names that are
links, the commune chart that never leaves out the one commune with devices, a year without
enrolment that says so, and what coverage and the gap each count."""

from __future__ import annotations

import html as htmllib
import re

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from devicetrack.reports.service import current_school_year
from tests.coverage_helpers import enrol
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser

LONG_NAME = "Trường Phổ thông Dân tộc Bán trú Tiểu học và Trung học cơ sở Mường Nhé số 1"


def _chart(page: str, heading: str) -> str:
    """The SVG under a card's heading."""
    after = page.split(f"<h2>{heading}</h2>", 1)[1]
    return after[: after.index("</svg>") + len("</svg>")]


def _label(chart: str, href: str) -> str:
    """The text of the label linked to `href`, its lines joined."""
    link = re.search(rf'<a href="{re.escape(href)}"[^>]*>(.*?)</a>', chart, re.S)
    assert link, (href, chart)
    lines = re.findall(r"<tspan[^>]*>(.*?)</tspan>", link.group(1))
    return htmllib.unescape(" ".join(lines))


async def test_charts_name_every_school_whole_link_it_and_never_miss_a_commune(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    # One lent tablet at school A: the only commune with any coverage.
    await enrol(db, scene.school_a, 10)
    tablet = (await scene.tablets(1))[0]
    await scene.at_school([tablet])
    await scene.lend(tablet, await scene.consenting_student())
    home = await db.fetchval("SELECT commune_code FROM schools WHERE id = $1", scene.school_a)
    home_name = await db.fetchval("SELECT name FROM communes WHERE code = $1", home)
    # 18 more communes, each with one school of 10 students and no device; the one with the
    # long name needs the most.
    long_school = None
    for i in range(5, 23):
        commune = await factory.commune(DIEN_BIEN, i)
        name = LONG_NAME if i == 5 else f"Trường {i}"
        school = await factory.school(DIEN_BIEN, commune_code=commune, name=name)
        await enrol(db, school, 500 if i == 5 else 10)
        long_school = long_school or school

    page = (await web.get("/province", headers=browser(scene.officer, "en"))).text
    gaps = _chart(page, "Largest gaps")
    assert _label(gaps, f"/schools/{long_school}") == LONG_NAME  # whole, over two lines
    assert "…" not in gaps
    assert len(re.findall(r'<a href="/schools/\d+"', gaps)) == 10

    communes = _chart(page, "Coverage by commune")
    assert "Lowest coverage" in communes and "Highest coverage" in communes
    highest = communes.split("Highest coverage", 1)[1]
    # The one commune with devices heads the highest; its bar is labelled and linked.
    first = re.search(r'<a href="(/province/communes/\d+)"', highest)
    assert first and first.group(1) == f"/province/communes/{home}"
    assert _label(communes, f"/province/communes/{home}") == home_name
    assert re.search(r'class="chart-value">10%</text>', highest)
    assert len(re.findall(r'<a href="/province/communes/', communes)) == 16  # 8 and 8

    # The commune page draws its schools the same way, with the sentence on what counts.
    commune_page = (
        await web.get(f"/province/communes/{home}", headers=browser(scene.officer, "en"))
    ).text
    chart = commune_page[commune_page.index('<svg class="chart"') :]
    assert _label(chart, f"/schools/{scene.school_a}").startswith("Trường")
    assert "Coverage counts students" in commune_page
    assert "The gap counts devices" in commune_page


async def test_the_dashboard_says_what_coverage_and_the_gap_count(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await enrol(db, scene.school_a, 30)
    page = (await web.get("/province", headers=browser(scene.officer, "en"))).text
    assert "Coverage counts students: the share of enrolled students who have a device" in page
    assert "The gap counts devices: the working devices a school still needs" in page
    vi = (await web.get("/province", headers=browser(scene.officer, "vi"))).text
    assert "Độ phủ tính theo học sinh" in vi and "Số còn thiếu tính theo thiết bị" in vi


async def test_a_year_without_enrolment_says_so(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    this_year = current_school_year(local_today())
    start = int(this_year[:4])
    next_year = f"{start + 1}-{start + 2}"
    await enrol(db, scene.school_a, 30, this_year)

    empty = await web.get(f"/province?year={next_year}", headers=browser(scene.officer, "en"))
    assert empty.status_code == 200
    text = empty.text
    assert f"No enrolment is recorded for {next_year}" in text
    assert not re.search(r"\b0 schools\b", text) and "short of devices: 0" not in text
    assert "devices still needed" not in text and "of students have a device" not in text
    assert "No enrolment, so no gaps to show." in text
    vi = await web.get(f"/province?year={next_year}", headers=browser(scene.officer, "vi"))
    assert f"Chưa có sĩ số năm học {next_year}" in vi.text

    # The year with enrolment is measured as before.
    measured = (await web.get("/province", headers=browser(scene.officer, "en"))).text
    assert "No enrolment is recorded" not in measured
    assert "Schools short of devices: 1. They need 30 more" in measured


def test_a_label_wraps_between_words_and_ends_in_an_ellipsis_only_when_too_long() -> None:
    from devicetrack.web.svg import wrap

    assert wrap(LONG_NAME) == [
        "Trường Phổ thông Dân tộc Bán trú Tiểu học và",
        "Trung học cơ sở Mường Nhé số 1",
    ]
    assert wrap("Trường A") == ["Trường A"]
    long = wrap(" ".join([LONG_NAME] * 3))
    assert len(long) == 3 and long[-1].endswith("…")
    assert wrap("X" * 100) == ["X" * 46, "X" * 46, "X" * 8]

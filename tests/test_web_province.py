"""The province's pages: the coverage dashboard (languages, charts, school years), SIMs to
top up and overdue audits with their Excel files, and allocating to a school."""

from __future__ import annotations

import re
from datetime import timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from tests.factories import Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser, form


async def test_province_dashboard_in_vietnamese_with_charts_and_excel(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await db.execute(
        """INSERT INTO enrolments (school_id, school_year, students_total, priority_students)
           VALUES ($1, '2026-2027', 40, 10)""",
        scene.school_a,
    )
    tags = await scene.tablets(2)
    await scene.at_school(tags)
    response = await web.get("/province?sort=coverage_pct", headers=browser(scene.officer, "vi"))
    assert response.status_code == 200
    html = response.text
    assert '<html lang="vi">' in html and "Độ phủ" in html and "Còn thiếu" in html
    assert re.search(r"tính đến \d{2}/\d{2}/\d{4}", html)
    assert html.count('<svg class="chart"') == 2
    assert 'aria-current="true">Độ phủ ↑' in html
    english = await web.get("/province", headers=browser(scene.officer, "en"))
    assert "Largest gaps" in english.text
    xlsx = await web.get("/province/coverage.xlsx", headers=browser(scene.officer))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


async def test_sim_and_audit_tables_export_to_excel_in_the_readers_language(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    import io

    from openpyxl import load_workbook

    scene = await make_scene(client, db, factory)
    soon = (local_today() + timedelta(days=10)).isoformat()
    sims = await scene.intake(
        {"kind": "sim", "iccid": "8984048000000000017", "plan_expires_on": soon}
    )
    await scene.at_school(sims)
    response = await web.get("/province/sims.xlsx", headers=browser(scene.officer, "vi"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Trường" and rows[0][1] == "SIM"
    school = await db.fetchval("SELECT name FROM schools WHERE id = $1", scene.school_a)
    assert rows[1][:3] == (school, 1, 0)
    overdue = await web.get("/province/audits.xlsx", headers=browser(scene.officer, "en"))
    header = next(load_workbook(io.BytesIO(overdue.content)).active.iter_rows(values_only=True))
    assert header == ("School", "Last audit", "Devices held")


async def test_allocating_redirects_to_its_result_and_a_refusal_keeps_the_scans(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    first, second = await scene.tablets(2)
    officer = browser(scene.officer)
    url = f"/schools/{scene.school_a}/allocate"
    wrong = second[:-1] + ("0" if second[-1] != "0" else "1")
    refused = await web.post(
        url, data=form(scene.officer, tags=f"{first}\n{wrong}", note="đợt 1"), headers=officer
    )
    assert refused.status_code in (404, 409, 422), refused.text
    assert f"{first}\n{wrong}</textarea>" in refused.text and 'value="đợt 1"' in refused.text
    assert (await scene.device(first))["status"] == "in_stock"

    done = await web.post(url, data=form(scene.officer, tags=f"{first}\n{second}"), headers=officer)
    assert done.status_code == 303, done.text
    assert "?allocation=" in done.headers["location"]
    shown = await web.get(done.headers["location"], headers=officer)
    assert shown.status_code == 200
    assert f'href="/devices/{first}"' in shown.text and f'href="/devices/{second}"' in shown.text
    # Reloading the result allocates nothing more.
    assert await db.fetchval("SELECT count(*) FROM allocations") == 1


async def test_the_sims_to_top_up_are_listed_one_by_one(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    import io

    from openpyxl import load_workbook

    scene = await make_scene(client, db, factory)
    soon = (local_today() + timedelta(days=5)).isoformat()
    later = (local_today() + timedelta(days=200)).isoformat()
    near, far = await scene.intake(
        {
            "kind": "sim",
            "iccid": "8984040000000000035",
            "msisdn": "0912000111",
            "carrier": "viettel",
            "plan_expires_on": soon,
        },
        {"kind": "sim", "iccid": "8984040000000000043", "plan_expires_on": later},
    )
    report = await client.get(
        f"{API}/reports/sim-expiry", params={"within_days": 30}, headers=scene.officer.headers
    )
    assert report.status_code == 200, report.text
    listed = report.json()["sims"]
    assert [s["asset_tag"] for s in listed] == [near]
    assert (listed[0]["msisdn"], listed[0]["plan_expires_on"], listed[0]["lent"]) == (
        "+84912000111",
        soon,
        False,
    )
    page = await web.get("/province/sims?days=30", headers=browser(scene.officer, "vi"))
    assert f'href="/devices/{near}"' in page.text and far not in page.text
    assert "SIM cần nạp thêm" in page.text and "<title>" in page.text
    assert "<a" not in page.text.split("<title>")[1].split("</title>")[0]  # a plain title
    sheet = await web.get("/province/sims-list.xlsx?days=30", headers=browser(scene.officer))
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Asset tag", "Phone number", "ICCID")
    assert [r[0] for r in rows[1:]] == [near]


async def test_the_dashboard_shows_another_school_year(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    from devicetrack.reports.service import current_school_year

    scene = await make_scene(client, db, factory)
    this_year = current_school_year(local_today())
    start = int(this_year[:4])
    last_year = f"{start - 1}-{start}"
    await db.execute(
        """INSERT INTO enrolments (school_id, school_year, students_total, priority_students)
           VALUES ($1, $2, 4321, 10), ($1, $3, 1234, 10)""",
        scene.school_a,
        this_year,
        last_year,
    )
    officer = browser(scene.officer)
    now = await web.get("/province", headers=officer)
    assert f'<option value="{this_year}" selected>' in now.text and "4,321" in now.text
    before = await web.get(f"/province?year={last_year}", headers=officer)
    assert f'<option value="{last_year}" selected>' in before.text and "1,234" in before.text
    assert f"year={last_year}&amp;sort=" in before.text  # the sort links keep the year
    assert f"/province/coverage.xlsx?level=school&year={last_year}" in before.text
    import io

    from openpyxl import load_workbook

    sheet = await web.get(f"/province/coverage.xlsx?level=school&year={last_year}", headers=officer)
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    enrolled = rows[0].index("Enrolled")
    assert 1234 in [r[enrolled] for r in rows[1:]]  # the chosen year's enrolment
    odd = await web.get("/province?year=1900-1901", headers=officer)
    assert odd.status_code == 200 and f'<option value="{this_year}" selected>' in odd.text

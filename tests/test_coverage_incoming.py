"""Devices on their way — allocated to a school, not yet received — in the coverage figures,
the ranking of gaps, the audits due and the allocation form (issue #14, item 4): after 50
tablets were allocated to a school, its gap stayed first under "largest gaps" and it showed
at once as "audits overdue — never"."""

from __future__ import annotations

import csv
import io
import re

import asyncpg
from litestar.testing import AsyncTestClient

from tests.coverage_helpers import enrol
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser


async def _allocated_but_not_received(scene: Scene) -> list[str]:
    """A: 60 students and 50 tablets on their way; B: 40 students and nothing. 5 laptops
    stay in the province's stock."""
    await enrol(scene.db, scene.school_a, 60)
    await enrol(scene.db, scene.school_b, 40)
    tags = await scene.tablets(50)
    await scene.allocate(tags, scene.school_a)
    await scene.intake(*({"kind": "laptop", "serial": f"L-IN-{i}"} for i in range(5)))
    return tags


async def _schools(client: AsyncTestClient, scene: Scene) -> dict[int, dict]:
    response = await client.get(
        f"{API}/reports/coverage",
        params={"level": "school", "province": DIEN_BIEN},
        headers=scene.officer.headers,
    )
    assert response.status_code == 200, response.text
    return {r["school_id"]: r for r in response.json()["items"]}


async def test_devices_on_their_way_count_in_coverage_and_rank_the_gaps(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await _allocated_but_not_received(scene)

    rows = await _schools(client, scene)
    a, b = rows[scene.school_a], rows[scene.school_b]
    assert (a["devices_held"], a["devices_working"], a["devices_incoming"]) == (50, 0, 50)
    assert (a["gap"], a["gap_after_incoming"]) == (60, 10)  # §5's gap, and what is left
    assert (b["devices_incoming"], b["gap"], b["gap_after_incoming"]) == (0, 40, 40)
    province = await client.get(
        f"{API}/reports/coverage",
        params={"level": "province", "province": DIEN_BIEN},
        headers=scene.officer.headers,
    )
    whole = province.json()["items"][0]
    assert (whole["devices_incoming"], whole["gap"], whole["gap_after_incoming"]) == (50, 100, 50)

    # The gaps rank by what remains after delivery: B first, and the stock goes to B.
    gaps = await client.get(
        f"{API}/reports/gaps", params={"province": DIEN_BIEN}, headers=scene.officer.headers
    )
    assert gaps.status_code == 200, gaps.text
    body = gaps.json()
    ranked = [(i["school_id"], i["gap_after_incoming"], i["suggested"]) for i in body["items"]]
    assert ranked == [(scene.school_b, 40, {"laptop": 5}), (scene.school_a, 10, {})]
    assert body["items"][1]["devices_incoming"] == 50
    assert (body["total_incoming"], body["total_gap_after_incoming"]) == (50, 50)
    assert body["closable_from_stock"] == 5

    # The CSV export carries both figures.
    exported = await client.get(
        f"{API}/reports/coverage",
        params={"level": "school", "province": DIEN_BIEN, "format": "csv"},
        headers=scene.officer.headers,
    )
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    row_a = next(r for r in table if r["school_id"] == str(scene.school_a))
    assert (row_a["devices_incoming"], row_a["gap"], row_a["gap_after_incoming"]) == (
        "50",
        "60",
        "10",
    )

    # Received devices stop being on their way and start working.
    await scene.receive(tags[:20], scene.school_a)
    a = (await _schools(client, scene))[scene.school_a]
    assert (a["devices_working"], a["devices_incoming"], a["gap"], a["gap_after_incoming"]) == (
        20,
        30,
        40,
        10,
    )


async def test_a_school_that_has_received_nothing_is_not_overdue_for_an_audit(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(3)
    await scene.allocate(tags, scene.school_a)
    name = await db.fetchval("SELECT name FROM schools WHERE id = $1", scene.school_a)

    due = await client.get(
        f"{API}/reports/audit-due", params={"province": DIEN_BIEN}, headers=scene.officer.headers
    )
    assert due.status_code == 200, due.text
    assert scene.school_a not in [s["school_id"] for s in due.json()["schools"]]
    assert not set(tags) & {d["asset_tag"] for d in due.json()["devices"]}
    page = await web.get("/province/audits", headers=browser(scene.officer, "en"))
    assert page.status_code == 200 and name not in page.text

    # Received, never audited and not seen for long: now it is due, and says "never".
    await scene.receive(tags, scene.school_a)
    await db.execute(
        "UPDATE devices SET last_seen_at = now() - interval '400 days' WHERE asset_tag = $1",
        tags[0],
    )
    due = await client.get(
        f"{API}/reports/audit-due", params={"province": DIEN_BIEN}, headers=scene.officer.headers
    )
    schools = {s["school_id"]: s for s in due.json()["schools"]}
    assert schools[scene.school_a]["last_audit_at"] is None
    assert [d["asset_tag"] for d in due.json()["devices"]] == [tags[0]]
    page = await web.get("/province/audits", headers=browser(scene.officer, "en"))
    assert re.search(rf"{re.escape(name)}</a></td><td>never</td>", page.text)


async def test_the_dashboard_ranks_gaps_after_the_devices_on_their_way(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await _allocated_but_not_received(scene)
    html = (await web.get("/province", headers=browser(scene.officer, "en"))).text

    gaps_chart = html.split("Largest gaps", 1)[1].split("Coverage by commune", 1)[0]
    linked = re.findall(r'<a href="/schools/(\d+)"', gaps_chart)
    assert linked == [str(scene.school_b), str(scene.school_a)]  # 40 still needed, then 10
    assert re.search(r'<span class="num">50</span> devices on their way to schools', html)
    assert re.search(r'<span class="num">50</span> devices still needed', html)
    assert "Schools short of devices: 2. They need 50 more" in html
    assert ">On the way<" in html and ">Still needed after delivery<" in html

    vi = (await web.get("/province", headers=browser(scene.officer, "vi"))).text
    assert "thiết bị đang trên đường đến trường" in vi and "Còn thiếu sau khi nhận" in vi

    # The Excel export has the figures too, headed in the reader's language.
    import openpyxl

    sheet = await web.get("/province/coverage.xlsx", headers=browser(scene.officer, "en"))
    rows = list(
        openpyxl.load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True)
    )
    header = rows[0]
    by_name = {r[header.index("School")]: r for r in rows[1:]}
    name_a = await db.fetchval("SELECT name FROM schools WHERE id = $1", scene.school_a)
    assert by_name[name_a][header.index("On the way")] == 50
    assert by_name[name_a][header.index("Still needed after delivery")] == 10


async def test_the_allocation_form_shows_the_stock_per_kind(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tablets = await scene.tablets(3)
    await scene.intake(*({"kind": "laptop", "serial": f"L-F-{i}"} for i in range(2)))
    page = await web.get(f"/schools/{scene.school_a}/allocate", headers=browser(scene.officer))
    assert page.status_code == 200
    assert "In province stock: Laptop 2 · Tablet 3</p>" in page.text
    assert '<option value="tablet">Tablet (3 in stock)</option>' in page.text
    assert '<option value="desktop">Desktop (0 in stock)</option>' in page.text
    vi = await web.get(f"/schools/{scene.school_a}/allocate", headers=browser(scene.officer, "vi"))
    assert "Máy tính bảng (còn 3 trong kho)" in vi.text
    # An allocation moves the count.
    await scene.allocate(tablets[:2], scene.school_b)
    after = await web.get(f"/schools/{scene.school_a}/allocate", headers=browser(scene.officer))
    assert "Tablet (1 in stock)" in after.text

"""The SIM expiry report beyond its day windows: "all future expiries" on the page and
`within_days=all` in the API list every SIM with an end date, however far off."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from tests.factories import Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser


async def test_all_future_expiries_on_the_page_and_in_the_api(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    soon = local_today() + timedelta(days=5)
    fortnight_on = local_today() + timedelta(days=12)
    next_year = local_today() + timedelta(days=300)
    near, mid, far, _no_plan = await scene.intake(
        {"kind": "sim", "iccid": "8984040000000000035", "plan_expires_on": soon.isoformat()},
        {
            "kind": "sim",
            "iccid": "8984040000000000043",
            "plan_expires_on": fortnight_on.isoformat(),
        },
        {"kind": "sim", "iccid": "8984040000000000050", "plan_expires_on": next_year.isoformat()},
        {"kind": "sim", "iccid": "8984040000000000068"},  # no plan end: nothing to top up
    )

    everything = await client.get(
        f"{API}/reports/sim-expiry", params={"within_days": "all"}, headers=scene.officer.headers
    )
    assert everything.status_code == 200, everything.text
    body = everything.json()
    assert body["within_days"] is None and body["total_sims"] == 3
    assert [s["asset_tag"] for s in body["sims"]] == [near, mid, far]
    # The day windows still work, the default is still 30 days, and 14 days is a window.
    fortnight = await client.get(
        f"{API}/reports/sim-expiry", params={"within_days": 14}, headers=scene.officer.headers
    )
    assert [s["asset_tag"] for s in fortnight.json()["sims"]] == [near, mid]
    default = await client.get(f"{API}/reports/sim-expiry", headers=scene.officer.headers)
    assert default.json()["within_days"] == 30 and default.json()["total_sims"] == 2
    # Out of range or not a number: a problem naming the parameter, not a 500.
    for bad in ("5000", "-1", "soon"):
        refused = await client.get(
            f"{API}/reports/sim-expiry", params={"within_days": bad}, headers=scene.officer.headers
        )
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "within_days" in refused.text

    page = await web.get("/province/sims", headers=browser(scene.officer, "vi"))
    assert '<option value="all">Mọi ngày hết hạn sắp tới</option>' in page.text
    assert '<option value="14">14 ngày</option>' in page.text
    assert far not in page.text  # 30 days by default
    all_page = await web.get("/province/sims?days=all", headers=browser(scene.officer, "vi"))
    assert all_page.status_code == 200
    assert '<option value="all" selected>' in all_page.text
    assert "Mọi SIM theo ngày hết hạn" in all_page.text
    for tag in (near, mid, far):
        assert f'href="/devices/{tag}"' in all_page.text
    # Its Excel links keep the choice.
    assert "/province/sims-list.xlsx?days=all" in all_page.text
    sheet = await web.get("/province/sims-list.xlsx?days=all", headers=browser(scene.officer))
    assert sheet.status_code == 200 and far.encode() in _xlsx_text(sheet.content)


def _xlsx_text(content: bytes) -> bytes:
    """The shared strings and sheet XML of a workbook, to look for a value in."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return b"".join(book.read(n) for n in book.namelist() if n.endswith(".xml"))

"""Every download says what it is: the right Content-Type (one charset), and a file name."""

from __future__ import annotations

from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_downloads_carry_their_own_content_type(client, web, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.at_school(tags)
    audit = await client.post(
        f"{API}/audits", headers=scene.staff_a.headers, json={"school_id": scene.school_a}
    )
    audit_id = audit.json()["id"]
    await client.post(
        f"{API}/audits/{audit_id}/scans", headers=scene.staff_a.headers, json={"code": tags[0]}
    )
    officer = scene.officer.headers
    expected = {
        f"{API}/reports/coverage?format=csv": "text/csv; charset=utf-8",
        f"{API}/reports/coverage?format=xlsx": XLSX,
        f"{API}/devices/export?format=csv": "text/csv; charset=utf-8",
        f"{API}/devices/export?format=xlsx": XLSX,
        f"{API}/audits/{audit_id}?format=csv": "text/csv; charset=utf-8",
        f"{API}/audits/{audit_id}?format=pdf": "application/pdf",
        f"{API}/devices/{tags[0]}/label.svg": "image/svg+xml",
        f"{API}/devices/{tags[0]}/label.png": "image/png",
    }
    for url, content_type in expected.items():
        response = await client.get(url, headers=officer)
        assert response.status_code == 200, (url, response.text[:200])
        assert response.headers["content-type"] == content_type, url
    labels = await client.post(
        f"{API}/labels", headers=officer, json={"asset_tags": tags, "template": "avery-l7651"}
    )
    assert labels.headers["content-type"] == "application/pdf"
    for url in (f"/schools/{scene.school_a}/devices.xlsx", "/province/coverage.xlsx"):
        page = await web.get(
            url, headers=browser(scene.staff_a if "schools" in url else scene.officer)
        )
        assert page.status_code == 200, url
        assert page.headers["content-type"] == XLSX, url
        assert "attachment" in page.headers["content-disposition"], url

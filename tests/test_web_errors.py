"""The errors a person meets on the pages: a page in their language without internals, while
the pages' JSON endpoints and the API keep problem+json."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, form


async def test_unexpected_errors_show_a_page_without_internals(
    web: AsyncTestClient, factory: Factory
) -> None:
    admin = await factory.admin()
    response = await web.get("/devices/DT99-000001-0", headers=browser(admin))
    assert response.status_code in (404, 422)
    assert "Traceback" not in response.text and "Request id" in response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_the_pages_json_endpoints_answer_errors_as_problem_json(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    token = form(scene.staff_a)["_csrf"]
    refused = await web.post(
        f"/schools/{scene.school_b}/receive.json",
        json={"asset_tags": ["DT11-000001-0"]},
        headers=browser(scene.staff_a) | {"X-CSRF-Token": token},
    )
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    no_csrf = await web.post(
        f"/schools/{scene.school_a}/receive.json",
        json={"asset_tags": ["DT11-000001-0"]},
        headers=browser(scene.staff_a),
    )
    assert no_csrf.status_code == 403 and no_csrf.json()["title"].startswith("The form expired")


async def test_a_browser_gets_a_page_for_an_unknown_address_and_the_api_keeps_json(
    web: AsyncTestClient, factory: Factory
) -> None:
    staff = await factory.staff(await factory.school(DIEN_BIEN))
    html = {"Accept": "text/html,application/xhtml+xml"}
    for url in ("/nonexistent", "/students/abc", "/schools/1/xyz"):
        response = await web.get(url, headers=browser(staff, "vi") | html)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Không tìm thấy" in response.text
    api = await web.get("/api/v1/nonexistent", headers=html)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")

"""The coverage report as JSON comes in pages like any list (a nation has 45,000 schools);
its CSV and Excel files hold every row."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.reports.service import current_school_year
from tests.factories import DIEN_BIEN, LAI_CHAU, Factory

URL = "/api/v1/reports/coverage"


async def test_school_rows_page_in_the_report_order_and_files_hold_them_all(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    schools = [await factory.school(DIEN_BIEN) for _ in range(5)]
    other = await factory.school(LAI_CHAU)
    for n, school in enumerate([*schools, other]):
        await db.execute(
            "INSERT INTO enrolments (school_id, school_year, students_total, priority_students)"
            " VALUES ($1, $2, $3, 0)",
            school,
            current_school_year(),
            10 * (n + 1),
        )
    admin, officer = await factory.admin(), await factory.officer(DIEN_BIEN)

    whole = await client.get(URL, params={"level": "school"}, headers=officer.headers)
    assert whole.status_code == 200, whole.text
    assert whole.json()["total_items"] == 5 and whole.json()["next_cursor"] is None
    order = [r["school_id"] for r in whole.json()["items"]]
    assert sorted(order) == sorted(schools)
    # Largest gap first: the most enrolled (and all without devices) lead.
    assert order == list(reversed(schools))

    paged: list[int] = []
    cursor = None
    while True:
        params = {"level": "school", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await client.get(URL, params=params, headers=officer.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total_items"] == 5 and len(body["items"]) <= 2
        paged += [r["school_id"] for r in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert paged == order
    # Another sort pages in its own order; the admin's pages cover the nation.
    by_name = await client.get(
        URL, params={"level": "school", "limit": "3", "sort": "school_name"}, headers=admin.headers
    )
    assert by_name.json()["total_items"] == 6 and len(by_name.json()["items"]) == 3
    # The files are not paged.
    csv = await client.get(
        URL, params={"level": "school", "limit": "2", "format": "csv"}, headers=officer.headers
    )
    assert csv.status_code == 200
    assert len(csv.text.strip().splitlines()) == 1 + 5
    # A cursor this server did not write, or a limit out of range: a problem naming it.
    for params in ({"cursor": "junk"}, {"cursor": "djI6LTE"}, {"limit": "0"}, {"limit": "5000"}):
        refused = await client.get(
            URL, params={"level": "school", **params}, headers=officer.headers
        )
        assert refused.status_code in (400, 422), (params, refused.text)
        assert next(iter(params)) in refused.text

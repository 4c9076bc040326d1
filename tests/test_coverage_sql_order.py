"""The schools' coverage rows are sorted and sliced by PostgreSQL (a nation's 45,000 schools),
the roll-ups in Python: both must give the same order for every sort, ties and rows without
a value included, or a page would differ from the file and from the level above it."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.reports import service
from devicetrack.reports.schemas import CoverageRow
from tests.coverage_helpers import enrol
from tests.factories import DIEN_BIEN, Factory

URL = "/api/v1/reports/coverage"

# name, enrolment (None: no enrolment row), working devices at the school
SCHOOLS = [
    ("Trường Ánh Dương", 10, 5),  # 50%
    ("Trường Bình Minh", 20, 10),  # 50%: a tie on every ratio with the first
    ("Trường Ba", 1000, 333),  # 33.3%: rounds like 33.33… but is below it, made before them
    ("Trường Zê", 3, 1),  # 33.33…%
    ("Truong Zê", 3000, 1000),  # 33.33…% again, a name without diacritics
    ("Trường Đồi", 0, 2),  # enrolled 0: no ratio, last in both directions
    ("Trường Mới", None, 0),  # no enrolment at all
    ("Trường ánh", 7, 0),  # 0%: lower-case first letter sorts after every capital
]


async def _place_devices(db: asyncpg.Pool, school: int, n: int, tag: int, donor: int) -> None:
    donation = await db.fetchval(
        "INSERT INTO donations (donor_id, province_code, reference) VALUES ($1, $2, $3)"
        " RETURNING id",
        donor,
        DIEN_BIEN,
        f"ORDER-{tag}",
    )
    await db.execute(
        """INSERT INTO devices (asset_tag, province_code, kind, make, model, serial, status,
                                condition, school_id, donation_id, donor_id)
           SELECT format('OR%s-%s', $1::int, i), $2, 'tablet', 'M', 'T',
                  format('ORD-%s-%s', $1::int, i), 'at_school', 'good', $3, $4, $5
             FROM generate_series(1, $6::int) AS i""",
        tag,
        DIEN_BIEN,
        school,
        donation,
        donor,
        n,
    )


@pytest.fixture
async def schools(db: asyncpg.Pool, factory: Factory) -> list[int]:
    ids = []
    # Ties fall back to the place: the commune's code, then the school's id (the order they
    # were made in). The first school is in the later commune, so its tie with the second
    # is broken by the commune, against the order they were made in.
    first, rest = await factory.commune(DIEN_BIEN, 1), await factory.commune(DIEN_BIEN, 0)
    donor = await factory.donor()
    for tag, (name, enrolled, working) in enumerate(SCHOOLS):
        commune = first if tag == 0 else rest
        school = await factory.school(DIEN_BIEN, name=name, commune_code=commune)
        if enrolled is not None:
            await enrol(db, school, enrolled)
        await _place_devices(db, school, working, tag, donor)
        ids.append(school)
    return ids


@pytest.mark.parametrize("field", sorted(service.SORTS))
@pytest.mark.parametrize("direction", ["", "-"])
async def test_sql_order_is_the_python_order(
    client: AsyncTestClient, factory: Factory, schools: list[int], field: str, direction: str
) -> None:
    officer = await factory.officer(DIEN_BIEN)
    sort = direction + field
    got = await client.get(URL, params={"level": "school", "sort": sort}, headers=officer.headers)
    assert got.status_code == 200, got.text
    rows = [CoverageRow(**r) for r in got.json()["items"]]
    assert sorted(r.school_id for r in rows) == sorted(schools)
    expected = service._sort(list(reversed(rows)), sort)
    assert [r.school_id for r in rows] == [r.school_id for r in expected], sort
    # Pages of three put together are the same rows in the same order.
    paged: list[int] = []
    cursor = None
    while True:
        params = {"level": "school", "sort": sort, "limit": "3"}
        page = await client.get(
            URL,
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=officer.headers,
        )
        assert page.status_code == 200, page.text
        assert page.json()["total_items"] == len(SCHOOLS)
        paged += [r["school_id"] for r in page.json()["items"]]
        if (cursor := page.json()["next_cursor"]) is None:
            break
    assert paged == [r.school_id for r in rows]


async def test_ratios_order_by_the_exact_share_not_the_rounded_one(
    client: AsyncTestClient, factory: Factory, schools: list[int]
) -> None:
    officer = await factory.officer(DIEN_BIEN)
    got = await client.get(
        URL, params={"level": "school", "sort": "-devices_per_100"}, headers=officer.headers
    )
    names = [(r["school_name"], r["devices_per_100"]) for r in got.json()["items"]]
    # 33.333… before 33.3 although both show 33.3; the ties by place: at 50 by commune
    # (Ánh Dương's comes later), at 33.333… by the order the schools were made in; the
    # schools without a ratio last.
    assert names[:5] == [
        ("Trường Bình Minh", 50.0),
        ("Trường Ánh Dương", 50.0),
        ("Trường Zê", 33.3),
        ("Truong Zê", 33.3),
        ("Trường Ba", 33.3),
    ]
    assert [n for n, pct in names[5:]] == ["Trường ánh", "Trường Đồi", "Trường Mới"]
    assert [pct for n, pct in names[5:]] == [0.0, None, None]

"""The SIM expiry report's schools are found by walking the SIMs in plan-end order
(`sim_groups`), not by aggregating every SIM of the window. Whatever the page size and the
walk's batch, the pages put together are the groups counted from scratch: each school once,
at its earliest plan end in the window, with all of its SIMs, in (earliest, school) order —
including schools whose SIMs straddle a page boundary and the province's stock."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.db.engine import async_url
from devicetrack.reports import repository
from tests.factories import DIEN_BIEN, LAI_CHAU, Caller, Factory

URL = "/api/v1/reports/sim-expiry"

FROM_SCRATCH = """
    SELECT coalesce(school_id, 0) AS key, min(plan_expires_on) AS earliest, count(*) AS sims,
           count(*) FILTER (WHERE plan_expires_on < $1) AS expired
      FROM devices
     WHERE kind = 'sim' AND status <> 'retired' AND plan_expires_on IS NOT NULL
       AND ($2::date IS NULL OR plan_expires_on <= $2)
       AND ($3::text IS NULL OR province_code = $3)
     GROUP BY 1 ORDER BY 2, 1
"""


async def _sims(db: asyncpg.Pool, factory: Factory) -> None:
    """Sixty SIMs over nine schools and each province's stock, their plans from sixty days
    ago to ninety ahead, many on the same days (so that several schools' groups start on
    the same day and a page ends inside one), and a retired one that counts nowhere."""
    rng = random.Random(7)
    today = local_today()
    donor = await factory.donor()
    places: list[tuple[str, int | None]] = [(DIEN_BIEN, None), (LAI_CHAU, None)]
    places += [(DIEN_BIEN, await factory.school(DIEN_BIEN)) for _ in range(6)]
    places += [(LAI_CHAU, await factory.school(LAI_CHAU)) for _ in range(3)]
    donations = {
        p: await db.fetchval(
            "INSERT INTO donations (donor_id, province_code, reference) VALUES ($1, $2, $3)"
            " RETURNING id",
            donor,
            p,
            f"WALK-{p}",
        )
        for p in (DIEN_BIEN, LAI_CHAU)
    }
    for n in range(61):
        province, school = rng.choice(places)
        await db.execute(
            """INSERT INTO devices (asset_tag, province_code, kind, status, condition, school_id,
                                    donation_id, donor_id, iccid, plan_expires_on)
               VALUES ($1, $2, 'sim', $3, 'good', $4, $5, $6, $7, $8)""",
            f"SW{rng.randrange(10**6):06d}{n:02d}",
            province,
            "retired" if n == 60 else ("at_school" if school else "in_stock"),
            school,
            donations[province],
            donor,
            f"8984{n:015d}",
            today + timedelta(days=rng.choice([-60, -3, 0, 0, 0, 2, 29, 30, 31, 90])),
        )


async def _paged(client: AsyncTestClient, caller: Caller, limit: int, **params: Any) -> list[Any]:
    groups: list[Any] = []
    cursor = None
    totals = set()
    while True:
        query = {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        answer = await client.get(URL, params=query, headers=caller.headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= limit
        totals.add(body["total_sims"])
        groups += [
            (g["school_id"] or 0, g["earliest_expiry"], g["sims"], g["expired"])
            for g in body["items"]
        ]
        if (cursor := body["next_cursor"]) is None:
            break
    assert len(totals) == 1
    return [*groups, ("total", totals.pop())]


@pytest.mark.parametrize("batch", [1, 2, 5, repository.WALK_BATCH])
async def test_pages_are_the_groups_counted_from_scratch(
    client: AsyncTestClient,
    db: asyncpg.Pool,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
) -> None:
    monkeypatch.setattr(repository, "WALK_BATCH", batch)
    await _sims(db, factory)
    today = local_today()
    admin, officer = await factory.admin(), await factory.officer(LAI_CHAU)
    for caller, province, window in (
        (admin, None, 30),
        (admin, None, "all"),
        (admin, DIEN_BIEN, 30),
        (officer, None, "all"),
        (officer, None, 0),
    ):
        scope = province or (LAI_CHAU if caller is officer else None)
        until = None if window == "all" else today + timedelta(days=int(window))
        rows = await db.fetch(FROM_SCRATCH, today, until, scope)
        expected = [(r["key"], r["earliest"].isoformat(), r["sims"], r["expired"]) for r in rows]
        expected.append(("total", sum(r["sims"] for r in rows)))
        assert len(expected) > 2, "the scene has two groups or more in every view"
        params = {"within_days": str(window), **({"province": province} if province else {})}
        for limit in (1, 2, 3, 50):
            assert await _paged(client, caller, limit, **params) == expected, (
                caller.role,
                province,
                window,
                limit,
            )


async def test_a_page_inside_one_crowded_day_reads_only_its_own_schools(
    db: asyncpg.Pool, factory: Factory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty schools' SIMs all end on one day (a telecom's batch of identical plans), three
    each. Walked by plan end and tag, every page of two schools read the whole day again
    (30 batches of 2); walked by plan end and school it reads its own schools' SIMs and
    the next school's first, on the tenth page as on the first."""
    monkeypatch.setattr(repository, "WALK_BATCH", 2)
    day = local_today() + timedelta(days=5)
    donor = await factory.donor()
    donation = await db.fetchval(
        "INSERT INTO donations (donor_id, province_code, reference) VALUES ($1, $2, 'DAY')"
        " RETURNING id",
        donor,
        DIEN_BIEN,
    )
    schools = sorted([await factory.school(DIEN_BIEN) for _ in range(20)])
    for n, school in enumerate(s for s in schools for _ in range(3)):
        await db.execute(
            """INSERT INTO devices (asset_tag, province_code, kind, status, condition, school_id,
                                    donation_id, donor_id, iccid, plan_expires_on)
               VALUES ($1, $2, 'sim', 'at_school', 'good', $3, $4, $5, $6, $7)""",
            f"DAY{n:03d}",
            DIEN_BIEN,
            school,
            donation,
            donor,
            f"8985{n:015d}",
            day,
        )
    admin = Principal(user_id=0, email="-", full_name="-", role="admin")
    where = repository.sims_ending(admin, until=day, province=DIEN_BIEN)
    engine = create_async_engine(async_url(database_url))
    walked: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "ORDER BY devices.plan_expires_on" in statement:
            walked.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    pages: list[list[int | None]] = []
    walks: list[int] = []
    statements: list[str] = []
    try:
        async with AsyncSession(engine) as session:
            after = None
            while True:
                walked.clear()
                page = await repository.sim_groups(
                    session, where, local_today(), limit=2, after=after
                )
                walks.append(len(walked))
                statements.extend(walked)
                pages.append([g.school_id for g in page.rows])
                if (after := page.next_key) is None:
                    break
    finally:
        await engine.dispose()
    assert [s for p in pages for s in p] == schools
    assert all(len(p) == 2 for p in pages)
    # Two schools and the next one's first SIM: 7 SIMs, 4 batches of 2.
    assert max(walks) <= 4, walks
    # Each batch starts where the one before ended: one row comparison, the index scan's
    # start (with the page's cursor too, PostgreSQL started each at the cursor).
    assert all(len(re.findall(r"\) > \(", sql)) <= 1 for sql in statements), statements[-1]

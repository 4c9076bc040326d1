"""Counts and names a person reads (issue #14, item 9): "students borrowing" counts students,
not the SIMs inside their tablets; the device workbook names the donation, donor and school;
the coverage workbook has one column headed "School"."""

from __future__ import annotations

import io
import re

import asyncpg
import openpyxl
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser


def _sheet(content: bytes) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


async def test_students_borrowing_counts_students_not_the_sims_in_their_tablets(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    first, second = await scene.tablets(2)
    sim = (await scene.intake({"kind": "sim", "iccid": "8984040000000000011"}))[0]
    await scene.act(scene.officer, first, "install-sim", sim=sim)
    await scene.at_school([first, second])
    await scene.lend(first, await scene.consenting_student())
    await scene.lend(second, await scene.consenting_student())
    lent = await db.fetchval(
        "SELECT count(*) FROM devices WHERE school_id = $1 AND status = 'assigned'",
        scene.school_a,
    )
    assert lent == 3  # two tablets and the SIM in one of them

    page = await web.get(f"/schools/{scene.school_a}", headers=browser(scene.staff_a, "en"))
    assert re.search(r'<span class="num">2</span> students borrowing', page.text)
    assert '<span class="num">3</span>' not in page.text
    vi = await web.get(f"/schools/{scene.school_a}", headers=browser(scene.staff_a, "vi"))
    assert re.search(r'<span class="num">2</span> học sinh đang mượn', vi.text)


async def test_the_device_workbook_names_donation_donor_and_school(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tag = (await scene.tablets(1))[0]
    await scene.at_school([tag])
    donor = await db.fetchval("SELECT name FROM donors WHERE id = $1", scene.donor_id)
    school = await db.fetchval("SELECT name FROM schools WHERE id = $1", scene.school_a)

    response = await web.get(
        f"/schools/{scene.school_a}/devices.xlsx", headers=browser(scene.staff_a, "vi")
    )
    assert response.status_code == 200, response.text
    header, row = _sheet(response.content)
    values = dict(zip(header, row))  # noqa: B905 (trailing empty cells are not stored)
    assert (values["Đợt tài trợ"], values["Nhà tài trợ"], values["Trường"]) == (
        "LC-1",
        donor,
        school,
    )
    assert len(header) == len(set(header))
    english = await web.get(
        f"/schools/{scene.school_a}/devices.xlsx", headers=browser(scene.staff_a, "en")
    )
    header, row = _sheet(english.content)
    values = dict(zip(header, row))  # noqa: B905
    assert (values["Donation"], values["Donor"], values["School"]) == ("LC-1", donor, school)


async def test_the_coverage_workbook_heads_each_column_once(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    for lang, school in (("vi", "Trường"), ("en", "School")):
        response = await web.get(
            "/province/coverage.xlsx?level=school", headers=browser(scene.officer, lang)
        )
        assert response.status_code == 200
        header = _sheet(response.content)[0]
        assert len(header) == len(set(header)), header
        # Not told apart by a number either ("Trường", "Trường (2)"): one School column.
        assert header.count(school) == 1 and f"{school} (2)" not in header, header
        assert "school_id" not in header
    # The API's export keeps the field names, the school's number among them.
    api = await client.get(
        "/api/v1/reports/coverage",
        params={"level": "school", "format": "xlsx"},
        headers=scene.officer.headers,
    )
    header = _sheet(api.content)[0]
    assert {"school_id", "school_name", "devices_incoming", "gap_after_incoming"} <= set(header)

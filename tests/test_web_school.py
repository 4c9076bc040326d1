"""A school's own pages: receiving an allocation tag after tag, the menu of a staff member
with several schools, and the device list as Excel in the reader's language and clock."""

from __future__ import annotations

from datetime import UTC, timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser, form


async def test_receiving_an_allocation_lists_the_discrepancies(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(3)
    await scene.allocate(tags[:2])
    stranger = tags[2]
    page = await web.get(f"/schools/{scene.school_a}/receive", headers=browser(scene.staff_a))
    assert page.status_code == 200 and tags[0] in page.text
    typo = tags[1][:-1] + ("0" if tags[1][-1] != "0" else "1")
    # Typed with spaces where the dashes go, it is still one tag.
    spaced = tags[0].lower().replace("-", " ")
    result = await web.post(
        f"/schools/{scene.school_a}/receive",
        data=form(scene.staff_a, tags=f"{spaced}\n{typo}\n{stranger}"),
        headers=browser(scene.staff_a),
    )
    assert result.status_code == 200
    assert "did you mean" in result.text and "not allocated to this school" in result.text
    assert (await scene.device(tags[0]))["status"] == "at_school"
    assert (await scene.device(tags[1]))["status"] == "allocated"
    one = await web.post(
        f"/schools/{scene.school_a}/receive.json",
        json={"asset_tags": [tags[1]]},
        headers=browser(scene.staff_a) | {"X-CSRF-Token": form(scene.staff_a)["_csrf"]},
    )
    assert one.status_code == 200 and one.json()["received"] == [tags[1]]


async def test_staff_of_two_schools_see_each_school_by_name(
    web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    first, second = await factory.school(), await factory.school()
    names = dict(
        await db.fetch("SELECT id, name FROM schools WHERE id = ANY($1::int[])", [first, second])
    )
    both = await factory.staff(first, second)
    menu = (await web.get(f"/schools/{first}", headers=browser(both))).text
    for school, name in names.items():
        assert f'<a href="/schools/{school}" class="school" title="{name}">{name}</a>' in menu
    # Only the school being looked at shows its pages (a two-line menu on a phone).
    assert f'href="/schools/{first}/students"' in menu
    assert f'href="/schools/{second}/students"' not in menu
    one = await factory.staff(first)
    menu = (await web.get(f"/schools/{first}", headers=browser(one))).text
    assert f'<a href="/schools/{first}" class="school" title="My school">My school</a>' in menu


async def test_excel_exports_speak_the_readers_language_and_clock(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    import io

    import openpyxl

    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(1)
    await scene.at_school(tags)
    received = (await scene.device(tags[0]))["received_at"]

    def sheet(content: bytes) -> list[tuple]:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return list(book.worksheets[0].iter_rows(values_only=True))

    devices = await web.get(
        f"/schools/{scene.school_a}/devices.xlsx", headers=browser(scene.staff_a, "vi")
    )
    assert devices.status_code == 200, devices.text
    header, row = sheet(devices.content)
    assert header[:4] == ("Mã tài sản", "Loại", "Hãng", "Mẫu máy")
    values = dict(zip(header, row))  # noqa: B905 (trailing empty cells are not stored)
    assert (values["Mã tài sản"], values["Loại"], values["Trạng thái"]) == (
        tags[0],
        "Máy tính bảng",
        "Tại trường",
    )
    # Vietnam's clock (UTC+7), as Excel has no time zones.
    local = (received.astimezone(UTC) + timedelta(hours=7)).replace(tzinfo=None)
    assert abs(values["Đã nhận"] - local) < timedelta(seconds=1)
    # The API's export stays machine-readable: field names and stored codes.
    api = await client.get(
        f"{API}/devices/export",
        params={"format": "xlsx", "school": scene.school_a},
        headers=scene.staff_a.headers,
    )
    api_header, api_row = sheet(api.content)
    assert api_header[:2] == ("asset_tag", "kind") and api_row[1] == "tablet"

    coverage = await web.get("/province/coverage.xlsx", headers=browser(scene.officer, "vi"))
    header = sheet(coverage.content)[0]
    assert "Tên trường" in header or "Trường" in header
    assert {"Sĩ số", "Độ phủ (%)", "Còn thiếu"} <= set(header)
    english = await web.get("/province/coverage.xlsx", headers=browser(scene.officer, "en"))
    assert {"Enrolled", "Coverage (%)", "Gap"} <= set(sheet(english.content)[0])

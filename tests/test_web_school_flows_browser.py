"""Issue #14's school journeys in a real browser (Debian's Chromium, 360 px wide):
receiving a pasted list keeps every line, and an audit tells lent devices from missing
ones, shows what is still to find, never calls a typo good, and asks before closing."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.test_web_browser import (  # noqa: F401 - fixtures, found by pytest by name
    check_accessibility,
    chromium,
    live_server,
    shot,
    sign_in,
    user,
)
from tests.test_web_browser import phone as phone


async def _until(check: Any, what: str) -> None:
    """Poll from Python (the pages' CSP forbids evaluating strings as script)."""
    for _ in range(150):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(what)


async def test_a_pasted_list_is_received_line_by_line_and_nothing_is_lost(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.allocate(tags)
    await user(factory, "school_staff", "nhan.hang@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "nhan.hang@truong.vn")
    await page.goto(f"/schools/{scene.school_a}/receive")
    waiting = page.locator("[data-waiting] li[data-tag]")
    assert await waiting.count() == 4

    # Two tags pasted at once (the case: only the last one used to arrive), then
    # Enter; then a typo and a word that is no tag at all.
    area = page.locator("#tags")
    await area.fill(f"{tags[0]}\n{tags[1]}")
    await area.press("Enter")
    await page.locator("[data-received]").filter(has_text="2").wait_for()
    typo = tags[2][:-1] + ("0" if tags[2][-1] != "0" else "1")
    await area.fill(f"{typo}\n0912345678")
    await area.press("Enter")
    await page.locator("[data-discrepancies]").filter(has_text="2").wait_for()
    log = await page.locator("[data-log]").inner_text()
    assert typo in log and "0912345678" in log and tags[0] in log and tags[1] in log
    # The list of what is still to come follows the scanning, without a reload.
    assert await waiting.count() == 2
    assert await page.locator("[data-waiting-count]").inner_text() == "2"
    assert sorted([await li.get_attribute("data-tag") for li in await waiting.all()]) == sorted(
        tags[2:]
    )
    assert await area.input_value() == ""
    await check_accessibility(page)  # no sideways scrolling at 360 px among the checks
    await shot(page, "school-receive-pasted-list")
    statuses = dict(await db.fetch("SELECT asset_tag, status FROM devices"))
    assert [statuses[t] for t in tags] == ["at_school", "at_school", "allocated", "allocated"]

    # The button does what Enter does: the last two, pasted with a blank line between.
    await area.fill(f"{tags[2]}\n\n{tags[3]}\n")
    await page.click("[data-receive] button[type=submit]")
    await page.locator("[data-received]").filter(has_text="4").wait_for()
    assert page.url.endswith(f"/schools/{scene.school_a}/receive")
    assert await waiting.count() == 0
    assert await page.locator("[data-waiting] [data-nothing]").is_visible()
    statuses = dict(await db.fetch("SELECT asset_tag, status FROM devices"))
    assert {statuses[t] for t in tags} == {"at_school"}


async def test_an_audit_shows_what_to_find_keeps_lent_devices_apart_and_asks_before_closing(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.at_school(tags)
    for tag in tags[2:]:
        await scene.lend(tag, await scene.consenting_student())
    await user(factory, "school_staff", "kiem.ke.2@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "kiem.ke.2@truong.vn")
    await page.goto(f"/schools/{scene.school_a}/audits")
    await page.click("form[action$='/audits'] button[type=submit]")
    await page.wait_for_url("**/audits/*")
    to_find = page.locator("#tofind + ul li[data-tag]")
    on_loan = page.locator("#onloan + ul li[data-tag]")
    # What is expected is on the page while scanning: two to find, two at home.
    assert [await li.get_attribute("data-tag") for li in await to_find.all()] == tags[:2]
    assert [await li.get_attribute("data-tag") for li in await on_loan.all()] == tags[2:]
    await check_accessibility(page)
    await shot(page, "school-audit-expected")

    # A typo scanned offline waits, marked neither good nor bad, then is refused: it is
    # never shown as good first.
    await phone.set_offline(True)
    code = page.locator("#acode")
    typo = tags[0][:-1] + ("0" if tags[0][-1] != "0" else "1")
    await code.fill(typo)
    await code.press("Enter")
    log = page.locator("[data-log] li")
    await page.locator("[data-log] li.wait").first.wait_for()
    assert await page.locator("[data-log] li.ok").count() == 0
    await phone.set_offline(False)
    await page.locator("[data-log] li.bad").first.wait_for()
    assert (await log.first.inner_text()).startswith("✗ " + typo)
    assert await page.locator("[data-log] li.ok").count() == 0

    # A device found ticks off its line; a student who brought a lent one in, too.
    for tag in (tags[0], tags[3]):
        await code.fill(tag)
        await code.press("Enter")
    await page.locator("[data-log] li.ok").nth(1).wait_for()
    assert [await li.get_attribute("data-tag") for li in await to_find.all()] == [tags[1]]
    assert [await li.get_attribute("data-tag") for li in await on_loan.all()] == [tags[2]]
    assert await page.locator("#tofind [data-missing]").inner_text() == "1"
    assert await page.locator("#onloan [data-on-loan]").inner_text() == "1"
    await shot(page, "school-audit-scanning")

    # Closing asks first, with what will be marked missing and what is on loan.
    await page.click("form[data-close-form] button[type=submit]")
    await page.locator("[data-confirm-close]").wait_for()
    assert await page.locator("[data-will-be-missing]").inner_text() == f"{tags[1]} · Máy tính bảng"
    assert tags[2] in await page.locator("[data-will-be-on-loan]").inner_text()
    assert tags[2] not in await page.locator("[data-will-be-missing]").inner_text()
    await check_accessibility(page)
    await shot(page, "school-audit-confirm-close")
    assert await db.fetchval("SELECT count(*) FROM audits WHERE closed_at IS NOT NULL") == 0
    await page.click("[data-confirm-close]")
    await page.locator("[data-missing-list]").wait_for()
    assert tags[1] in await page.locator("[data-missing-list]").inner_text()
    assert tags[2] not in await page.locator("[data-missing-list]").inner_text()
    assert tags[2] in await page.locator("[data-on-loan-list]").inner_text()
    await check_accessibility(page)
    await shot(page, "school-audit-closed-with-on-loan")
    assert await db.fetchval("SELECT count(*) FROM audits WHERE closed_at IS NOT NULL") == 1


async def test_late_loans_and_the_student_form_fit_a_phone(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student(full_name="Thào Thị Mỷ", class_name="6A")
    loan = await scene.lend(tag, student)
    await db.execute(
        "UPDATE assignments SET due_back_on = current_date - 5 WHERE id = $1", loan["id"]
    )
    await user(factory, "school_staff", "muon.tra@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "muon.tra@truong.vn")
    await page.click(f"a[href='/schools/{scene.school_a}/loans?overdue=1']")
    await page.wait_for_url("**/loans?overdue=1")
    late = await page.locator("[data-loans]").inner_text()
    assert tag in late and "Thào Thị Mỷ" in late and "quá hạn" in late
    await check_accessibility(page)
    await shot(page, "school-loans-overdue")
    await page.goto(f"/students/{student}")
    await page.click("#details summary")
    await page.fill("#ename", "Thào Thị Mỹ")
    await page.check("input[name=priority][value=remote]")
    await check_accessibility(page)
    await page.click("form[action$='/edit'] button[type=submit]")
    await page.wait_for_url(f"**/students/{student}?done=*")
    row = await db.fetchrow("SELECT full_name, priority FROM students WHERE id = $1", student)
    assert (row["full_name"], list(row["priority"])) == ("Thào Thị Mỹ", ["remote"])
    await shot(page, "school-student-edited")

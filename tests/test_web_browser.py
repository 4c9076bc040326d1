"""The main journeys in a real browser: headless Chromium (Debian's, driven by Playwright)
against the app served on 127.0.0.1, at a phone's width. Screenshots of each page go to
test-artifacts/screenshots/. Each journey also checks every page it sees for labelled
inputs, one h1 and a language attribute."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from litestar.testing import AsyncTestClient

from devicetrack.app import create_app
from devicetrack.auth.secrets import hash_password
from devicetrack.config import Settings
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import make_scene

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PASSWORD = "Mật-khẩu-thử-2026"
PHONE = {"width": 360, "height": 780}

async_api = pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI needs Debian's chromium for the browser journeys (.ci/run installs it)"
        )
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def live_server(settings: Settings) -> AsyncIterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "the live server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Any]:
    async with async_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        await browser.close()


@pytest.fixture
async def phone(chromium: Any, live_server: str) -> AsyncIterator[Any]:
    context = await chromium.new_context(viewport=PHONE, base_url=live_server, locale="vi-VN")
    context.set_default_timeout(15_000)
    yield context
    await context.close()


async def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def check_accessibility(page: Any) -> None:
    """Smoke checks a screen reader user depends on, on the page as the browser sees it."""
    problems = await page.evaluate(
        """() => {
        const out = [];
        if (!document.documentElement.lang) out.push('no lang attribute');
        const h1 = document.querySelectorAll('h1').length;
        if (h1 !== 1) out.push(h1 + ' h1 elements');
        for (const el of document.querySelectorAll('input, select, textarea')) {
          if (el.type === 'hidden' || el.type === 'submit' || el.closest('[hidden]')) continue;
          const named = (el.labels && el.labels.length) || el.getAttribute('aria-label');
          if (!named) out.push('unlabelled ' + el.tagName + ' ' + (el.name || el.id));
        }
        for (const img of document.querySelectorAll('img')) {
          if (!img.hasAttribute('alt')) out.push('img without alt');
        }
        if (document.documentElement.scrollWidth > window.innerWidth + 1)
          out.push('wider than the screen: ' + document.documentElement.scrollWidth);
        return out;
      }"""
    )
    assert problems == [], f"{page.url}: {problems}"


async def sign_in(page: Any, email: str) -> None:
    await page.goto("/login")
    await check_accessibility(page)
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, await page.inner_text("main")


async def user(factory: Factory, role: str, email: str, **scope: Any) -> None:
    await factory.user(role, email=email, password_hash=hash_password(PASSWORD), **scope)


async def test_school_staff_receives_an_allocation_and_lends_a_device(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.allocate(tags)
    student = await scene.consenting_student(full_name="Lò Văn Minh")
    await user(factory, "school_staff", "giao.vien@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "giao.vien@truong.vn")
    assert page.url.endswith(f"/schools/{scene.school_a}")
    await check_accessibility(page)

    await page.goto(f"/schools/{scene.school_a}/receive")
    area = page.locator("#tags")
    for tag in tags:
        await area.fill(tag.lower().replace("-", ""))  # as a scanner might type it
        await area.press("Enter")
    await page.locator("[data-received]").filter(has_text="2").wait_for()
    await area.fill("DT11-999999-0")
    await area.press("Enter")
    await page.locator("[data-discrepancies]").filter(has_text="1").wait_for()
    await check_accessibility(page)
    await shot(page, "school-receive")
    assert {r["status"] for r in await db.fetch("SELECT status FROM devices")} == {"at_school"}

    # Three taps from the device page: lend, the student, lend (condition is preselected).
    await page.fill("#scan-code", tags[0])
    await page.press("#scan-code", "Enter")
    await page.wait_for_url(f"**/devices/{tags[0]}")
    await check_accessibility(page)
    await page.click(f"a[href='/devices/{tags[0]}/lend']")
    await page.click(f"input[name=student_id][value='{student}']")
    await check_accessibility(page)
    await shot(page, "school-lend")
    await page.click("form[action$='/lend'] button[type=submit]")
    await page.wait_for_url(f"**/devices/{tags[0]}?done=*")
    assert "Lò Văn Minh" in await page.content()
    await shot(page, "school-device-lent")
    assert (await scene.device(tags[0]))["status"] == "assigned"


async def test_audit_keeps_scanning_offline_and_uploads_when_back_online(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.at_school(tags)
    await user(factory, "school_staff", "kiem.ke@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "kiem.ke@truong.vn")
    await page.goto(f"/schools/{scene.school_a}/audits")
    await page.click("form[action$='/audits'] button[type=submit]")
    await page.wait_for_url("**/audits/*")
    await check_accessibility(page)

    await phone.set_offline(True)
    code = page.locator("#acode")
    for tag in tags[:3]:
        await code.fill(tag)
        await code.press("Enter")
    await page.locator("[data-queued]").filter(has_text="3").wait_for()
    assert await page.locator("[data-offline]").is_visible()
    await shot(page, "school-audit-offline")
    assert await db.fetchval("SELECT count(*) FROM audit_scans") == 0

    await phone.set_offline(False)
    await page.locator("[data-found]").filter(has_text="3").wait_for()
    # (Polled from Python: the page's CSP rightly forbids evaluating strings as script.)
    for _ in range(150):
        if await page.locator("[data-queued]").text_content() == "0":
            break
        await asyncio.sleep(0.1)
    assert await page.locator("[data-queued]").text_content() == "0"
    assert not await page.locator("[data-queue-text]").is_visible()
    assert await db.fetchval("SELECT count(*) FROM audit_scans") == 3
    await page.click("form[data-close-form] button[type=submit]")
    await page.click("[data-confirm-close]")  # closing asks first
    await page.wait_for_load_state("networkidle")
    html = await page.content()
    assert tags[3] in html  # the one never scanned is listed as missing
    await check_accessibility(page)
    await shot(page, "school-audit-result")


async def test_donor_uploads_a_csv_with_a_bad_row_and_sees_it(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any, tmp_path: Path
) -> None:
    scene = await make_scene(client, db, factory)
    await user(factory, "donor", "quy@taitro.org", donor_id=scene.donor_id)
    page = await phone.new_page()
    await sign_in(page, "quy@taitro.org")
    assert page.url.endswith("/donor")
    await check_accessibility(page)
    await page.click(f"a[href='/donations/{scene.donation_id}']")
    upload = tmp_path / "may-tinh-bang.csv"
    upload.write_text(
        "loại,hãng,mẫu,số sê-ri\ntablet,Samsung,Tab A9,SN-0001\ntablet,Samsung,Tab A9,SN-0001\n",
        encoding="utf-8",
    )
    await page.set_input_files("#dfile", str(upload))
    await page.click("form[action$='/upload'] button[type=submit]")
    await page.wait_for_load_state("networkidle")
    errors = page.locator("table.errors")
    await errors.wait_for()
    assert "3" in await errors.inner_text()  # the duplicate serial, spreadsheet row 3
    await check_accessibility(page)
    await shot(page, "donor-upload-errors")
    assert await db.fetchval("SELECT count(*) FROM devices") == 0


async def test_province_dashboard_in_vietnamese(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    for school, enrolled in ((scene.school_a, 30), (scene.school_b, 50)):
        await db.execute(
            """INSERT INTO enrolments (school_id, school_year, students_total, priority_students)
               VALUES ($1, '2026-2027', $2, 5)""",
            school,
            enrolled,
        )
    await scene.at_school(await scene.tablets(3))
    await user(factory, "province_officer", "so.gddt@dienbien.gov.vn", province=DIEN_BIEN)
    page = await phone.new_page()
    await sign_in(page, "so.gddt@dienbien.gov.vn")
    assert page.url.endswith("/province")
    text = await page.inner_text("main")
    assert "Độ phủ" in text and "Còn thiếu" in text and "tính đến" in text
    assert await page.locator("svg.chart").count() == 2
    await check_accessibility(page)
    await shot(page, "province-dashboard")
    await page.click("table.coverage thead a[href$='sort=-coverage_pct']")  # sort by coverage
    await page.wait_for_url("**sort=-coverage_pct")
    header = await page.locator("table.coverage thead a[aria-current=true]").inner_text()
    assert header == "Độ phủ ↓"
    rows = await page.locator("table.coverage tbody tr").all_inner_texts()
    assert len(rows) == 2

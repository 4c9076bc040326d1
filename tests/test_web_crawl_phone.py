"""Every page a user of each role reaches from the menu, at a phone's width (360 px), in
real Chromium on the demo's data: none scrolls sideways, and no asset tag breaks across
lines. The crawl follows the menu and the links on the menu's pages (a device, a student,
a SIM, a donation, an audit…), one level deep, so the pages with the longest content of
the demo are seen."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from devicetrack.demo.loader import DEMO_PASSWORD, load_demo
from tests.test_web_browser import (  # noqa: F401 - fixtures, found by pytest by name
    chromium,
    live_server,
    shot,
)
from tests.test_web_browser import phone as phone

ROLES = {
    "admin": "admin@demo.devicetrack.vn",
    "province_officer": "province@demo.devicetrack.vn",
    "school_staff": "school@demo.devicetrack.vn",
    "donor": "donor@demo.devicetrack.vn",
}
# Links that are not pages to look at: files, the API, signing out, forms' targets.
SKIPPED = ("/logout", "/api/", "/static/", ".xlsx", ".csv", ".pdf", ".json", "format=")
PAGES_PER_ROLE = 45

MEASURE = """() => {
  const tags = [...document.querySelectorAll('.tag, main a[href^="/devices/"]')]
    .filter(t => t.getClientRects().length > 1)
    .map(t => t.textContent.trim());
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5)
    .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
  return {width: document.documentElement.scrollWidth, broken: tags, wide: wide};
}"""


async def _links(page: Any, selector: str) -> list[str]:
    hrefs: list[str] = await page.eval_on_selector_all(
        selector, "els => els.map(a => a.getAttribute('href'))"
    )
    out = []
    for href in hrefs:
        if not href or not href.startswith("/") or any(s in href for s in SKIPPED):
            continue
        out.append(href.split("#", 1)[0])
    return out


@pytest.fixture
async def demo(database_url: str, db: asyncpg.Pool) -> dict[str, list[str]]:
    """The demo, and for each role the pages of its journeys that no list links to
    directly (forms behind a device's or a school's buttons)."""
    assert await load_demo(database_url) is True
    # The teacher's own devices: another school's answer 404, and the crawl would skip them.
    teachers_schools = """SELECT school_id FROM user_schools s JOIN users u ON u.id = s.user_id
                           WHERE u.email = $1"""
    lendable = await db.fetchval(
        f"""SELECT asset_tag FROM devices WHERE status = 'at_school' AND kind = 'tablet'
             AND school_id IN ({teachers_schools}) ORDER BY id LIMIT 1""",
        ROLES["school_staff"],
    )
    lent = await db.fetchval(
        f"""SELECT asset_tag FROM devices WHERE status = 'assigned'
             AND school_id IN ({teachers_schools}) ORDER BY id LIMIT 1""",
        ROLES["school_staff"],
    )
    sim = await db.fetchval("SELECT asset_tag FROM devices WHERE kind = 'sim' LIMIT 1")
    school = await db.fetchval("SELECT min(school_id) FROM devices WHERE status = 'at_school'")
    officer = [f"/schools/{school}/allocate", f"/devices/{sim}"]
    # The administration pages: the menu's "Admin" leads to three of them within the
    # crawl's limit per kind; the rest, and one user, school and donor of each, here.
    teacher = await db.fetchval("SELECT id FROM users WHERE email = $1", ROLES["school_staff"])
    donor = await db.fetchval("SELECT min(id) FROM donors")
    admin_pages = [
        "/admin/donors",
        f"/admin/users/{teacher}",
        f"/admin/schools/{school}",
        f"/admin/donors/{donor}",
    ]
    return {
        "admin": [*officer, *admin_pages, "/admin/api-keys"],
        "province_officer": [*officer, *admin_pages],
        "school_staff": [f"/devices/{lendable}/lend", f"/devices/{lent}/return"],
        "donor": [],
    }


@pytest.mark.parametrize("role", list(ROLES))
async def test_no_page_of_any_role_scrolls_sideways_at_360_px(
    demo: dict[str, list[str]], phone: Any, role: str
) -> None:
    page = await phone.new_page()
    await page.goto("/login")
    await page.fill("#email", ROLES[role])
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert "/login" not in urlsplit(page.url).path

    start = urlsplit(page.url).path
    menu = [start, *await _links(page, "nav.menu a[href]")]
    # The menu stays two lines on a phone, whatever the role (the demo's teacher has two
    # schools: four links each made four lines).
    height = await page.eval_on_selector("nav.menu", "n => n.getBoundingClientRect().height")
    assert height <= 80, (menu, height)
    seen: list[str] = []
    queue = list(dict.fromkeys([*menu, *demo[role]]))
    problems: list[str] = []
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.append(url)
        response = await page.goto(url)
        assert response is not None and response.status < 500, url
        # A page named for the role opens; a link found on a page may be one it may not follow.
        assert response.status == 200 or url not in demo[role], (url, response.status)
        if response.status >= 400:
            continue  # a link the role may not follow is a refusal page, checked elsewhere
        found = await page.evaluate(MEASURE)
        if found["width"] > 360 or found["broken"]:
            problems.append(f"{url}: {found}")
            await shot(page, f"crawl-{role}-{len(seen)}")
        if url in menu:
            # One level below the menu: the pages its lists lead to, a few of each.
            below = await _links(page, "main a[href]")
            by_kind: dict[str, int] = {}
            for link in below:
                kind = "/".join(p for p in link.split("?")[0].split("/")[:2])
                if by_kind.get(kind, 0) < 3 and link not in seen and link not in queue:
                    by_kind[kind] = by_kind.get(kind, 0) + 1
                    queue.append(link)
    assert len(seen) >= (2 if role == "donor" else 4), seen
    assert problems == [], "\n".join(problems)

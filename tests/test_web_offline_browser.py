"""Lending and taking back offline, in Chromium at a phone's width: the service worker keeps
the pages and the school's snapshot, the outbox keeps what is done offline and sends it in
order when the connection returns. The loan is applied exactly once; a device lent to
someone else by another user meanwhile comes back as a conflict with what to do; signing
out leaves nothing of the user on the phone."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.test_web_browser import (  # the same live server, browser and phone
    check_accessibility,
    chromium,
    live_server,
    phone,
    shot,
    sign_in,
    user,
)

__all__ = ["chromium", "live_server", "phone"]  # fixtures used by name

KEPT = """async () => {
  const cache = await caches.open('dt-pages');
  const schools = document.querySelector('meta[name="dt-user"]').dataset.schools.split(',');
  const wanted = ['/offline', ...schools.map(id => '/schools/' + id + '/offline.json')];
  const hits = await Promise.all(wanted.map(url => cache.match(url)));
  return !!navigator.serviceWorker.controller && hits.every(Boolean);
}"""

# The first school's snapshot as kept: when, and the ETag kept with it.
KEPT_SNAPSHOT = """async () => {
  const cache = await caches.open('dt-pages');
  const school = document.querySelector('meta[name="dt-user"]').dataset.schools.split(',')[0];
  const hit = await cache.match('/schools/' + school + '/offline.json');
  return hit ? [Number(hit.headers.get('x-dt-kept-at')), hit.headers.get('etag')] : [0, null];
}"""
SNAPSHOT_READS = "SELECT count(*) FROM student_access_log WHERE route LIKE '%/offline.json'"


async def until(page: Any, script: str, seconds: float = 15) -> None:
    """Polled from Python: the page's CSP rightly forbids evaluating strings as script."""
    for _ in range(int(seconds * 10)):
        if await page.evaluate(script):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never true: {script}")


async def count_is(page: Any, n: int) -> None:
    await page.locator("[data-outbox-count]").filter(has_text=str(n)).wait_for()


async def test_lending_and_taking_back_offline_is_applied_once_with_conflicts_shown(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.at_school(tags)
    minh = await scene.consenting_student(full_name="Lò Văn Minh")
    lan = await scene.consenting_student(full_name="Quàng Thị Lan")
    tu = await scene.consenting_student(full_name="Cà Văn Tú")
    await user(factory, "school_staff", "ngoai.tuyen@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "ngoai.tuyen@truong.vn")
    # Installable: a manifest, and a service worker controlling the page once it is ready;
    # the offline page and the school's snapshot are kept ahead of need.
    assert await page.locator("link[rel=manifest]").count() == 1
    await until(page, "navigator.serviceWorker.ready.then(() => true)")
    await page.reload()
    await until(page, KEPT)
    # Half an hour on, the snapshot is asked for again with the ETag kept with it: unchanged,
    # the server answers 304 and logs no reads, and the copy is kept afresh. (The browser's
    # HTTP cache would revalidate by itself too; emptied here, only app.js's ETag is left.)
    logged = await db.fetchval(SNAPSHOT_READS)
    assert logged >= 3
    kept_at, etag = await page.evaluate(KEPT_SNAPSHOT)
    assert kept_at and etag
    await page.evaluate("() => localStorage.removeItem('dt-warmed')")
    cdp = await phone.new_cdp_session(page)
    await cdp.send("Network.clearBrowserCache")
    await cdp.detach()
    await page.reload()
    for _ in range(150):
        if (await page.evaluate(KEPT_SNAPSHOT))[0] > kept_at:
            break
        await asyncio.sleep(0.1)
    renewed_at, renewed_etag = await page.evaluate(KEPT_SNAPSHOT)
    assert renewed_at > kept_at and renewed_etag == etag
    assert await db.fetchval(SNAPSHOT_READS) == logged
    await page.goto(f"/devices/{tags[1]}/lend")  # opened once while online: kept

    await phone.set_offline(True)
    # 1. Lend the first device: never opened, so the offline page draws the form from the
    # school's snapshot kept on the phone.
    await page.goto(f"/devices/{tags[0]}/lend")
    await page.locator("[data-offline-lend]").wait_for()
    await page.fill("[data-offline-filter]", "minh")  # without the diacritics
    await page.click(f"input[name=student_id][value='{minh}']")
    await check_accessibility(page)
    await shot(page, "offline-lend")
    await page.click("[data-offline-lend] button[type=submit]")
    await count_is(page, 1)
    assert await page.locator("[data-outbox-offline]").is_visible()

    # 2. Take it back: the phone knows the holder from the loan waiting in the outbox.
    await page.goto(f"/devices/{tags[0]}/return")
    await page.locator("[data-offline-return]").wait_for()
    assert "Lò Văn Minh" in await page.locator("[data-offline-holder]").inner_text()
    await page.check("[data-offline-return] input[name=wiped]")
    await page.click("[data-offline-return] button[type=submit]")
    await count_is(page, 2)

    # 3. Lend the second device from its page kept by the service worker.
    await page.goto(f"/devices/{tags[1]}/lend")
    await page.fill("#lq", "quang")  # the search, offline, finds her in the snapshot
    rows = page.locator("[data-lend-results] input[name=student_id]")
    await rows.first.wait_for()
    for _ in range(50):
        if await rows.count() == 1:
            break
        await asyncio.sleep(0.1)
    assert await rows.count() == 1
    await page.click(f"input[name=student_id][value='{lan}']")
    await page.click("form[action$='/lend'] button[type=submit]")
    await page.locator("[data-outbox-saved]").wait_for()
    await count_is(page, 3)
    await check_accessibility(page)
    await shot(page, "offline-outbox-waiting")
    assert await db.fetchval("SELECT count(*) FROM assignments") == 0

    # Meanwhile another user lends the second device to someone else.
    await scene.lend(tags[1], tu)

    await phone.set_offline(False)
    conflict = page.locator("[data-outbox-conflicts] li[data-conflict=lend]")
    await conflict.wait_for()
    await page.locator("[data-outbox-waiting]").wait_for(state="hidden")
    text = await conflict.inner_text()
    assert tags[1] in text and "Quàng Thị Lan" in text
    assert await conflict.locator("a[data-open]").get_attribute("href") == f"/devices/{tags[1]}"
    await check_accessibility(page)
    await shot(page, "offline-conflict")

    # Applied exactly once, in order: one loan of the first device, taken back once.
    first = await db.fetch(
        """SELECT a.student_id, a.returned_at, a.wiped FROM assignments a
             JOIN devices d ON d.id = a.device_id WHERE d.asset_tag = $1""",
        tags[0],
    )
    assert [(r["student_id"], r["returned_at"] is not None, r["wiped"]) for r in first] == [
        (minh, True, True)
    ]
    actions = [e["action"] for e in await scene.events(tags[0])]
    assert actions.count("assigned") == 1 and actions.count("returned") == 1
    assert (await scene.device(tags[0]))["status"] == "at_school"
    # The second device stays with the student the other user lent it to.
    second = await db.fetch(
        """SELECT a.student_id FROM assignments a JOIN devices d ON d.id = a.device_id
            WHERE d.asset_tag = $1""",
        tags[1],
    )
    assert [r["student_id"] for r in second] == [tu]

    # The conflict stays until the user says it is dealt with; reloading keeps it.
    await page.reload()
    await conflict.wait_for()
    await conflict.locator("[data-dismiss]").click()
    await conflict.wait_for(state="detached")
    assert await page.locator("[data-outbox-panel]").is_hidden()

    # Signing out leaves nothing of this user on a shared phone.
    await page.click("form[action='/logout'] button[type=submit]")
    await page.wait_for_url("**/login")
    await until(page, "caches.keys().then(keys => keys.length === 0)")
    await until(
        page,
        "indexedDB.databases().then(dbs => !dbs.some(d => d.name === 'devicetrack'))",
    )


async def test_receiving_offline_waits_in_the_outbox_and_counts_once(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, phone: Any
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(3)
    await scene.allocate(tags)
    await user(factory, "school_staff", "nhan.hang@truong.vn", schools=[scene.school_a])
    page = await phone.new_page()
    await sign_in(page, "nhan.hang@truong.vn")
    await page.goto(f"/schools/{scene.school_a}/receive")

    await phone.set_offline(True)
    area = page.locator("#tags")
    for tag in tags[:2]:
        await area.fill(tag)
        await area.press("Enter")
    await area.fill(f"{tags[2]}\nDT11-999999-0")  # a box: two lines at once
    await area.press("Enter")
    await count_is(page, 3)
    assert await page.locator("[data-receive] [data-log] li.wait").count() == 3
    assert await area.input_value() == ""  # nothing typed is lost: it waits in the outbox
    await shot(page, "offline-receive-waiting")
    received = "SELECT count(*) FROM device_events WHERE action = 'received'"
    assert await db.fetchval(received) == 0

    await phone.set_offline(False)
    await page.locator("[data-received]").filter(has_text="3").wait_for()
    await page.locator("[data-discrepancies]").filter(has_text="1").wait_for()
    await page.locator("[data-outbox-waiting]").wait_for(state="hidden")
    assert await page.locator("[data-waiting-count]").text_content() == "0"
    assert await db.fetchval(received) == 3
    assert {r["status"] for r in await db.fetch("SELECT status FROM devices")} == {"at_school"}

"""Page weight benchmark: what each role's pages cost on a phone's connection.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        uv run python scripts/bench_page_weight.py [--no-browser]

Loads the demo into a scratch database, gives the demo teacher's school 520 more students
(so the lend page has a school's worth to choose from), serves the app on 127.0.0.1 and
signs in as each demo login. For each page it prints the HTML's size as sent with no
compression, with `Accept-Encoding: gzip` and with `gzip, br` (bytes on the wire, body
only), and the static files the page links. Then, unless --no-browser, it opens one page
per role in Debian's Chromium (through Playwright) on emulated 3G (400 kbps down and up,
400 ms round trip): a cold load (empty cache) and a warm one (the same page again), as the
`load` event's time (the median of --runs, default 5: the box is shared) and the bytes
transferred.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
from typing import Any

import asyncpg
import httpx
from _common import bench_database, running_server  # type: ignore[import-not-found]

from devicetrack.demo.loader import DEMO_PASSWORD, load_demo
from tests.database import asyncpg_dsn

EXTRA_STUDENTS = 520
FAMILY = ["Lò", "Quàng", "Vàng", "Giàng", "Mùa", "Lường", "Cà", "Sùng", "Tòng", "Điêu"]
GIVEN = ["Văn Minh", "Thị Mai", "A Páo", "Thị Dung", "Văn Hùng", "Thị Lan", "A Sử", "Thị Hoa"]
ROLES = {
    "admin": "admin@demo.devicetrack.vn",
    "officer": "province@demo.devicetrack.vn",
    "teacher": "school@demo.devicetrack.vn",
    "donor": "donor@demo.devicetrack.vn",
}
# 3G as the issue measured it: 400 kbit/s each way, 400 ms round trip.
THREE_G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}


async def arrange(url: str) -> dict[str, Any]:
    """The demo, plus a big school's students at the teacher's school; the ids pages need."""
    assert await load_demo(url), "the scratch database was not empty"
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        school = await conn.fetchval(
            """SELECT min(us.school_id) FROM user_schools us JOIN users u ON u.id = us.user_id
                WHERE u.email = $1""",
            ROLES["teacher"],
        )
        rows = [
            (
                school,
                f"HSX{i:04d}",
                f"{FAMILY[i % len(FAMILY)]} {GIVEN[(i * 7) % len(GIVEN)]} {i}",
                3 + i % 6,
                f"{3 + i % 6}B",
            )
            for i in range(EXTRA_STUDENTS)
        ]
        await conn.executemany(
            """INSERT INTO students (school_id, student_code, full_name, grade, class_name)
               VALUES ($1, $2, $3, $4, $5)""",
            rows,
        )
        await conn.execute(
            """INSERT INTO consents (student_id, given_by, method, given_at)
               SELECT id, 'Phụ huynh', 'paper', current_date FROM students
                WHERE student_code LIKE 'HSX%'"""
        )
        free = await conn.fetchval(
            "SELECT asset_tag FROM devices WHERE school_id = $1 AND status = 'at_school'"
            " AND kind = 'tablet' ORDER BY id LIMIT 1",
            school,
        )
        lent = await conn.fetchval(
            "SELECT asset_tag FROM devices WHERE status = 'assigned' AND kind = 'tablet'"
            " ORDER BY id LIMIT 1"
        )
        donation = await conn.fetchval("SELECT min(id) FROM donations")
        student = await conn.fetchval(
            "SELECT min(id) FROM students WHERE school_id = $1 AND student_code LIKE 'HS2026%'",
            school,
        )
    finally:
        await conn.close()
    return {"school": school, "free": free, "lent": lent, "donation": donation, "student": student}


def pages_of(ids: dict[str, Any]) -> dict[str, list[str]]:
    """Each role's pages; the first is the one loaded in the browser."""
    s = ids["school"]
    return {
        "admin": ["/province?province=11", "/province/audits", f"/devices/{ids['lent']}"],
        "officer": ["/province", "/province/sims?days=all", f"/schools/{s}/allocate"],
        "teacher": [
            f"/schools/{s}",
            f"/devices/{ids['free']}/lend",
            f"/schools/{s}/students",
            f"/students/{ids['student']}",
            f"/schools/{s}/receive",
        ],
        "donor": ["/donor", f"/donations/{ids['donation']}"],
    }


async def sign_in(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base, follow_redirects=False) as client:
        login = await client.get("/login")
        pre = login.cookies["dt_csrf"]
        csrf = re.search(r'name="_csrf" value="([^"]+)"', login.text)
        assert csrf, "the sign-in page has no CSRF field"
        answer = await client.post(
            "/login",
            data={"_csrf": csrf.group(1), "email": email, "password": DEMO_PASSWORD},
            headers={"Cookie": f"dt_csrf={pre}"},
        )
        assert answer.status_code == 303, answer.text[:300]
        return str(answer.cookies["dt_session"])


async def wire_size(
    client: httpx.AsyncClient, path: str, token: str, encoding: str
) -> tuple[int, str, str]:
    """(bytes of the body as sent, the Content-Encoding, the decoded text)."""
    headers = {"Cookie": f"dt_session={token}; dt_lang=vi", "Accept-Encoding": encoding}
    async with client.stream("GET", path, headers=headers) as response:
        if response.status_code != 200:
            return 0, f"HTTP {response.status_code}", ""
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        used = response.headers.get("content-encoding", "")
    decoded = ""
    if encoding == "identity":
        decoded = raw.decode("utf-8", "replace")
    return len(raw), used, decoded


def static_links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


async def measure_weights(base: str, tokens: dict[str, str], pages: dict[str, list[str]]) -> None:
    print("\nHTML per page (body bytes on the wire; KB = 1000 bytes)")
    print(f"{'role':<8} {'page':<34} {'identity':>9} {'gzip':>8} {'gzip,br':>8}  static")
    statics: set[str] = set()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for role, paths in pages.items():
            for path in paths:
                plain, _, html = await wire_size(client, path, tokens[role], "identity")
                gz, gz_used, _ = await wire_size(client, path, tokens[role], "gzip")
                br, br_used, _ = await wire_size(client, path, tokens[role], "gzip, br")
                links = static_links(html)
                statics.update(links)
                print(
                    f"{role:<8} {path[:34]:<34} {plain / 1000:>8.1f}K {gz / 1000:>7.1f}K"
                    f" {br / 1000:>7.1f}K  {gz_used or '-'}/{br_used or '-'}"
                    f" {len(links)} files"
                )
        print("\nStatic files")
        for path in sorted(statics):
            plain, _, _ = await wire_size(client, path, tokens["teacher"], "identity")
            br, used, _ = await wire_size(client, path, tokens["teacher"], "gzip, br")
            head = await client.get(path)
            cache = head.headers.get("cache-control", "(none)")
            print(f"  {path:<40} {plain:>6} B, {used or 'identity'} {br:>6} B · {cache}")
        icon = await client.get("/favicon.ico")
        manifest = await client.get("/manifest.webmanifest")
        print(f"  /favicon.ico {icon.status_code} · /manifest.webmanifest {manifest.status_code}")


async def _load_twice(
    browser: Any, base: str, host: str, token: str, path: str, encodings: set[str]
) -> list[dict[str, float]]:
    """A cold load (a new browser profile: empty cache) and a warm one (the same page again)
    on emulated 3G: the `load` event's time and the bytes transferred."""
    context = await browser.new_context(
        viewport={"width": 360, "height": 780}, base_url=base, locale="vi-VN"
    )
    await context.add_cookies(
        [
            {"name": "dt_session", "value": token, "domain": host, "path": "/"},
            {"name": "dt_lang", "value": "vi", "domain": host, "path": "/"},
        ]
    )
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", THREE_G)
    page.on("response", lambda r: encodings.add(r.headers.get("content-encoding", "identity")))
    results = []
    for _ in ("cold", "warm"):
        await page.goto(path, wait_until="load")
        results.append(
            await page.evaluate(
                """() => {
                  const nav = performance.getEntriesByType('navigation')[0];
                  const res = performance.getEntriesByType('resource');
                  const bytes = nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0);
                  return {load: nav.loadEventEnd, bytes: bytes, requests: 1 + res.length};
                }"""
            )
        )
    await context.close()
    return results


async def measure_browser(
    base: str, tokens: dict[str, str], pages: dict[str, list[str]], repeats: int
) -> None:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print("\n(no Debian chromium: the browser measurement is skipped)")
        return
    host = base.split("//", 1)[1].split(":")[0]
    print(
        f"\nChromium on emulated 3G (400 kbit/s, 400 ms RTT), one page per role; load times"
        f" are the median of {repeats} runs, bytes and requests those of the first"
    )
    print(
        f"{'role':<8} {'page':<24} {'cold load':>10} {'cold bytes':>11} {'reqs':>5}"
        f" {'warm load':>10} {'warm bytes':>11}  encoding"
    )
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"],
        )
        for role, paths in pages.items():
            encodings: set[str] = set()
            runs = [await _load_twice(browser, base, host, tokens[role], paths[0], encodings)]
            while len(runs) < repeats:
                runs.append(await _load_twice(browser, base, host, tokens[role], paths[0], set()))
            cold = statistics.median(r[0]["load"] for r in runs)
            warm = statistics.median(r[1]["load"] for r in runs)
            first_cold, first_warm = runs[0]
            print(
                f"{role:<8} {paths[0][:24]:<24} {cold / 1000:>9.2f}s"
                f" {first_cold['bytes']:>10} B {first_cold['requests']:>5} {warm / 1000:>9.2f}s"
                f" {first_warm['bytes']:>10} B  {'/'.join(sorted(encodings))}"
            )
        await browser.close()


async def measure(base: str, pages: dict[str, list[str]], repeats: int) -> None:
    tokens = {role: await sign_in(base, email) for role, email in ROLES.items()}
    await measure_weights(base, tokens, pages)
    if repeats:
        await measure_browser(base, tokens, pages, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium loads")
    parser.add_argument("--runs", type=int, default=5, help="browser loads per page (median)")
    parser.add_argument("--database", help="an existing empty database URL to use instead")
    args = parser.parse_args()
    with bench_database(args.database) as url:
        pages = pages_of(asyncio.run(arrange(url)))
        with running_server(url) as (base, _proc):
            asyncio.run(measure(base, pages, 0 if args.no_browser else max(1, args.runs)))


if __name__ == "__main__":
    sys.exit(main())

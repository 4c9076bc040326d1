"""Pages light enough for a mountain school's phone on 3G: every page of every role is at
most 15 KB on the wire when the browser accepts gzip or brotli; static files have
fingerprinted URLs and are cached for a year; the favicon and the web app manifest are
served; the lend page of a school with 500+ students stays small and its search finds a
student by a name typed without diacritics."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import brotli
from litestar.testing import AsyncTestClient
from PIL import Image

from devicetrack.demo.loader import DEMO_PASSWORD, load_demo
from devicetrack.web.assets import load_assets
from tests.factories import Factory
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser

WIRE_LIMIT = 15_000  # bytes of body, compressed, per HTML page
ACCEPT = "gzip, br"
STATIC = Path(__file__).resolve().parent.parent / "devicetrack" / "web" / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
# Links the crawl does not follow: downloads, files and the API.
NOT_PAGES = re.compile(r"\.(xlsx|pdf|csv|json|png|ico)$|/export$|/labels|^/static/|^/api/|^/schema")


class Wire:
    def __init__(self, status: int, headers: dict[str, str], raw: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, raw
        encoding = headers.get("content-encoding", "")
        body = raw
        if encoding == "br":
            body = brotli.decompress(raw)
        elif encoding == "gzip":
            body = gzip.decompress(raw)
        self.encoding = encoding
        self.text = body.decode("utf-8", "replace")


async def wire(web: AsyncTestClient, path: str, cookie: str, accept: str = ACCEPT) -> Wire:
    """The answer as it travels: the body's bytes before any decoding."""
    headers = {"Cookie": cookie, "Accept-Encoding": accept}
    async with web.stream("GET", path, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        return Wire(response.status_code, dict(response.headers), raw)


def links_of(html: str) -> list[str]:
    """Same-site GET links of a page (forms that post are not followed)."""
    found = []
    for href in re.findall(r'<a [^>]*href="([^"#]+)"', html):
        href = href.replace("&amp;", "&")
        if href.startswith("/") and not href.startswith("//"):
            found.append(href)
    return found


def pattern_of(url: str) -> str:
    """One page per kind: /devices/DT11-000001-0 and /devices/DT11-000002-8 are alike, and
    so are the same page's sort and filter links."""
    parts = urlsplit(url)
    path = re.sub(r"DT\d+-\d+-\w", "{tag}", parts.path)
    path = re.sub(r"/\d+", "/{n}", path)
    keys = sorted({p.split("=", 1)[0] for p in parts.query.split("&") if p})
    return path + ("?" + ",".join(keys) if keys else "")


async def sign_in(web: AsyncTestClient, email: str) -> str:
    web.cookies.clear()
    login = await web.get("/login")
    pre = login.cookies["dt_csrf"]
    signed_in = await web.post(
        "/login",
        data={"_csrf": pre, "email": email, "password": DEMO_PASSWORD},
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    assert signed_in.status_code == 303, signed_in.text[:300]
    web.cookies.clear()
    return f"dt_session={signed_in.cookies['dt_session']}; dt_lang=vi"


async def import_students(client: AsyncTestClient, headers: dict, school: int, n: int) -> None:
    """A big school's roll through the API's CSV import; the last one has a name full of
    diacritics that the tests search for without them."""
    family = ["Lò", "Quàng", "Vàng", "Giàng", "Mùa", "Cà", "Sùng", "Tòng"]
    lines = ["mã học sinh,họ và tên,khối,lớp"]
    lines += [f"HSX{i:04d},{family[i % 8]} Văn Học {i},{3 + i % 6},{3 + i % 6}B" for i in range(n)]
    lines.append("HSX9999,Lường Thị Ánh,5,5B")
    response = await client.post(
        f"{API}/students/import",
        params={"school_id": school},
        headers=headers,
        files={"file": ("hs.csv", "\n".join(lines).encode())},
    )
    assert response.status_code == 201, response.text
    assert response.json()["created"] == n + 1


async def test_every_page_of_every_role_is_at_most_15_kb_on_the_wire(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, database_url: str
) -> None:
    assert await load_demo(database_url) is True
    school = await db.fetchval(
        """SELECT min(us.school_id) FROM user_schools us JOIN users u ON u.id = us.user_id
            WHERE u.email = 'school@demo.devicetrack.vn'"""
    )
    token = await client.post(
        f"{API}/auth/token",
        json={"email": "school@demo.devicetrack.vn", "password": DEMO_PASSWORD},
    )
    assert token.status_code in (200, 201), token.text
    staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
    await import_students(client, staff, school, 520)
    free = await db.fetchval(
        "SELECT asset_tag FROM devices WHERE school_id = $1 AND status = 'at_school'"
        " AND kind = 'tablet' ORDER BY id LIMIT 1",
        school,
    )
    roles = {
        "admin": ("admin@demo.devicetrack.vn", ["/province?province=11"]),
        "officer": ("province@demo.devicetrack.vn", ["/province/sims?days=all"]),
        "teacher": ("school@demo.devicetrack.vn", [f"/devices/{free}/lend"]),
        "donor": ("donor@demo.devicetrack.vn", []),
    }
    weights: dict[str, list[tuple[str, int, int]]] = {}
    for role, (email, extra) in roles.items():
        cookie = await sign_in(web, email)
        home = await web.get("/", headers={"Cookie": cookie})
        assert home.status_code == 303
        first = await wire(web, home.headers["location"], cookie)
        menu = re.search(r'<nav class="menu".*?</nav>', first.text, re.S)
        assert menu, role
        # The menu's pages, then what they link to, two clicks deep: one page of each kind.
        queue = deque((url, 0) for url in [*links_of(menu.group(0)), *extra])
        seen: set[str] = set()
        weights[role] = []
        while queue:
            url, depth = queue.popleft()
            kind = pattern_of(url)
            if kind in seen or NOT_PAGES.search(urlsplit(url).path):
                continue
            seen.add(kind)
            answer = await wire(web, url, cookie)
            if answer.status != 200 or "text/html" not in answer.headers["content-type"]:
                continue
            weights[role].append((url, len(answer.raw), len(answer.text.encode())))
            if len(answer.text.encode()) > 1024:
                assert answer.encoding == "br", (role, url, answer.headers)
            if depth < 2:
                queue.extend((link, depth + 1) for link in links_of(answer.text))
    heavy = [(role, url, raw) for role, pages in weights.items() for url, raw, _ in pages]
    assert [h for h in heavy if h[2] > WIRE_LIMIT] == []
    # The crawl really went through each role's pages, the heavy ones among them.
    visited = {role: {pattern_of(url) for url, _, _ in pages} for role, pages in weights.items()}
    assert len(visited["teacher"]) >= 8 and len(visited["officer"]) >= 6, visited
    assert len(visited["donor"]) >= 3 and len(visited["admin"]) >= 6, visited
    assert {"/devices/{tag}/lend", "/schools/{n}/students", "/schools/{n}"} <= visited["teacher"]
    assert {"/province", "/province/sims", "/donations/{n}"} <= visited["officer"]
    biggest = max(plain for pages in weights.values() for _, _, plain in pages)
    assert biggest > WIRE_LIMIT  # uncompressed, some pages would not fit: compression does


async def test_static_files_are_fingerprinted_and_cached_for_a_year(
    web: AsyncTestClient, factory: Factory
) -> None:
    staff = await factory.staff(await factory.school("11"))
    page = await web.get("/login")
    for html in (page.text, (await web.get("/scan", headers=browser(staff))).text):
        css = re.search(r'<link rel="stylesheet" href="(/static/app\.[0-9a-f]{12}\.css)">', html)
        js = re.search(r'<script src="(/static/app\.[0-9a-f]{12}\.js)" defer>', html)
        assert css and js, html[:600]
    for url, name in ((css.group(1), "app.css"), (js.group(1), "app.js")):
        answer = await web.get(url, headers={"Accept-Encoding": "identity"})
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == IMMUTABLE
        assert answer.content == (STATIC / name).read_bytes()
        assert answer.headers["content-type"].startswith(
            "text/css" if name.endswith("css") else "text/javascript"
        )
        again = await web.get(url, headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        # Compressed on the way too (the CSS and script are text).
        squeezed = await wire(web, url, "")
        assert squeezed.encoding == "br" and len(squeezed.raw) < len(answer.content) / 2
        # A hash that is not the file's is no file (never cache the wrong content a year).
        stale = re.sub(r"\.[0-9a-f]{12}\.", ".000000000000.", url)
        assert (await web.get(stale)).status_code == 404
        # The plain name still answers, for old links, but is checked on each use.
        plain = await web.get(f"/static/{name}")
        assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"


def test_the_fingerprint_is_the_content(tmp_path: Path) -> None:
    (tmp_path / "app.css").write_text("a { color: red }")
    before = load_assets(tmp_path)["app.css"].url_name
    (tmp_path / "app.css").write_text("a { color: blue }")
    after = load_assets(tmp_path)["app.css"].url_name
    assert before != after and before.startswith("app.") and before.endswith(".css")
    (tmp_path / "app.css").write_text("a { color: red }")
    assert load_assets(tmp_path)["app.css"].url_name == before


async def test_favicon_and_web_app_manifest(web: AsyncTestClient, factory: Factory) -> None:
    icon = await web.get("/favicon.ico")
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert icon.headers["content-type"] in ("image/vnd.microsoft.icon", "image/x-icon")
    assert "no-store" not in icon.headers["cache-control"]
    donor = await factory.donor_user(await factory.donor())
    for html in (
        (await web.get("/login")).text,
        (await web.get("/donor", headers=browser(donor))).text,
    ):
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html
        linked_icon = re.search(
            r'<link rel="icon" href="(/static/favicon\.[0-9a-f]{12}\.ico)"', html
        )
        assert linked_icon
    assert (await web.get(linked_icon.group(1))).content == icon.content

    answer = await web.get("/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(answer.content)
    assert manifest["lang"] == "vi" and "thiết bị" in manifest["name"]
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["short_name"] and re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {}
    for entry in manifest["icons"]:
        png = await web.get(entry["src"])
        assert png.status_code == 200 and png.headers["content-type"] == entry["type"]
        assert png.headers["cache-control"] == IMMUTABLE
        width, height = Image.open(io.BytesIO(png.content)).size
        assert entry["sizes"] == f"{width}x{height}"
        sizes[width] = height
    assert sizes == {192: 192, 512: 512}


async def _big_school(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> tuple[Scene, str]:
    scene = await make_scene(client, db, factory)
    (tablet,) = await scene.tablets(1)
    await scene.at_school([tablet])
    await import_students(client, scene.staff_a.headers, scene.school_a, 520)
    # Her consent, so she can be chosen; a namesake at another school must not show.
    her = await db.fetchval("SELECT id FROM students WHERE student_code = 'HSX9999'")
    await scene.consent(her)
    await scene.student(scene.school_b, full_name="Lường Thị Ánh", student_code="B-1")
    return scene, tablet


async def test_the_lend_page_of_a_big_school_stays_small_and_finds_a_name_without_accents(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, tablet = await _big_school(client, db, factory)
    cookie = browser(scene.staff_a, "vi")["Cookie"]
    lend = await wire(web, f"/devices/{tablet}/lend", cookie, accept="identity")
    assert lend.status == 200
    # Not 521 students (~115 KB) but the first 20 and a search box, even uncompressed.
    assert len(lend.raw) < WIRE_LIMIT, len(lend.raw)
    assert lend.text.count('name="student_id"') == 20
    assert "Chỉ liệt kê 20 học sinh đầu tiên" in lend.text
    assert 'data-lend-search="/devices/' in lend.text

    # As you type: a fragment of at most 20 rows, the school's own students only.
    found = await web.get(
        f"/devices/{tablet}/lend/students", params={"q": "thi anh"}, headers=browser(scene.staff_a)
    )
    assert found.status_code == 200 and found.headers["content-type"].startswith("text/html")
    assert found.text.count('name="student_id"') == 1 and "Lường Thị Ánh" in found.text
    assert "<html" not in found.text and len(found.content) < 2000
    assert found.headers["cache-control"] == "no-store"
    many = await web.get(
        f"/devices/{tablet}/lend/students", params={"q": "van hoc"}, headers=browser(scene.staff_a)
    )
    assert many.text.count('name="student_id"') == 20
    # Without script: the search form submits and the page shows the matches.
    page = await web.get(
        f"/devices/{tablet}/lend", params={"q": "LUONG THI"}, headers=browser(scene.staff_a)
    )
    assert page.text.count('name="student_id"') == 1 and "Lường Thị Ánh" in page.text
    her = await db.fetchval("SELECT id FROM students WHERE student_code = 'HSX9999'")
    assert f'value="{her}"' in page.text
    # Another school's staff or province cannot search this school's students through the
    # device (404, as if it did not exist); its donor sees the device but no student (403).
    for caller, status in ((scene.staff_b, 404), (scene.officer_other, 404), (scene.donor, 403)):
        stranger = await web.get(
            f"/devices/{tablet}/lend/students", params={"q": "thi anh"}, headers=browser(caller)
        )
        assert stranger.status_code == status and "Lường" not in stranger.text, caller.role


async def test_staff_sees_the_compressed_page_in_their_language(
    web: AsyncTestClient, client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """Compression changes the bytes, not the page: gzip for a client without brotli, none
    for one that asks for none, and the same HTML every time."""
    scene = await make_scene(client, db, factory)
    await scene.at_school(await scene.tablets(40))
    cookie = browser(scene.staff_a, "vi")["Cookie"]
    url = f"/schools/{scene.school_a}"
    plain = await wire(web, url, cookie, accept="identity")
    zipped = await wire(web, url, cookie, accept="gzip")
    squeezed = await wire(web, url, cookie, accept="gzip, deflate, br")
    assert (plain.encoding, zipped.encoding, squeezed.encoding) == ("", "gzip", "br")
    assert plain.text == zipped.text == squeezed.text and "Thiết bị" in plain.text
    assert len(squeezed.raw) < len(zipped.raw) < len(plain.raw) / 3
    assert "accept-encoding" in zipped.headers["vary"].lower()
    # Excel files are zip archives already: sent as they are.
    sheet = await wire(web, f"/schools/{scene.school_a}/devices.xlsx", cookie)
    assert sheet.status == 200 and sheet.encoding == "" and sheet.raw[:2] == b"PK"

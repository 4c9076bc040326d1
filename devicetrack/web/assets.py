"""The pages' static files, fingerprinted: each is linked as `/static/<name>.<hash>.<ext>`
(a hash of its content), so a browser may keep it a year without asking again — a new
release changes the hash, hence the URL. On 3G every revalidation is a round trip of
~400 ms. Also the icon at /favicon.ico, the web app manifest and the service worker.

The files are read once, at start-up: they change only with a release."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

from devicetrack.config import Settings

STATIC = Path(__file__).parent / "static"
# The icons (binary, made by scripts/make_icons.py) are served beside them, from /static/.
ICONS = Path(__file__).parent / "icons"
# Fingerprinted URLs never change content: a year, and no revalidation on reload.
IMMUTABLE = "public, max-age=31536000, immutable"
# A file asked for by its plain name (an old link, a bookmark): kept, but checked each time.
REVALIDATE = "no-cache"
# /favicon.ico and the manifest have fixed URLs: a day, then checked.
A_DAY = "public, max-age=86400"
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    name: str
    url_name: str
    body: bytes
    media_type: str
    etag: str


def load_assets(*directories: Path) -> dict[str, Asset]:
    assets = {}
    for path in sorted(p for d in directories for p in d.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:12]
        media_type = MEDIA_TYPES.get(path.suffix) or (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        assets[path.name] = Asset(
            name=path.name,
            url_name=f"{path.stem}.{digest}{path.suffix}",
            body=body,
            media_type=media_type,
            etag=f'"{digest}"',
        )
    return assets


ASSETS = load_assets(STATIC, ICONS)
BY_URL_NAME = {a.url_name: a for a in ASSETS.values()}


def static_url(name: str) -> str:
    """The fingerprinted URL of a static file (for templates: `static("app.css")`)."""
    return f"/static/{ASSETS[name].url_name}"


def _answer(request: Request[Any, Any, Any], asset: Asset, cache_control: str) -> Response[bytes]:
    headers = {"Cache-Control": cache_control, "ETag": asset.etag}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@get("/static/{name:str}", include_in_schema=False, sync_to_thread=False)
def static_file(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    asset = BY_URL_NAME.get(name)
    if asset is not None:
        return _answer(request, asset, IMMUTABLE)
    if name in ASSETS:
        return _answer(request, ASSETS[name], REVALIDATE)
    raise NotFoundException()


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Browsers ask for it on every site; the pages also link the fingerprinted copy."""
    return _answer(request, ASSETS["favicon.ico"], A_DAY)


class WebManifest(msgspec.Struct):
    name: str
    short_name: str
    description: str
    lang: str
    start_url: str
    scope: str
    display: str
    background_color: str
    theme_color: str
    icons: list[dict[str, str]]


THEME = "#0b5394"  # --brand in app.css
MANIFEST = msgspec.json.encode(
    WebManifest(
        name="devicetrack — Theo dõi thiết bị tài trợ",
        short_name="devicetrack",
        description="Theo dõi thiết bị tài trợ từ nhà tài trợ đến trường và học sinh.",
        lang="vi",
        start_url="/",
        scope="/",
        display="standalone",
        background_color="#ffffff",
        theme_color=THEME,
        icons=[
            {"src": static_url(f"icon-{n}.png"), "sizes": f"{n}x{n}", "type": "image/png"}
            for n in (192, 512)
        ],
    )
)


@get("/manifest.webmanifest", include_in_schema=False, sync_to_thread=False)
def manifest() -> Response[bytes]:
    """The web app manifest: a school's phone can add devicetrack to its home screen."""
    return Response(
        MANIFEST, media_type="application/manifest+json", headers={"Cache-Control": A_DAY}
    )


# The service worker (sw.js): served from the root, so its scope is the whole site without a
# Service-Worker-Allowed header; the app shell it keeps (every static file, by its
# fingerprinted URL) is written into it, so a release changes its bytes and the phone
# installs the new one, dropping the old shell.
SHELL = sorted(static_url(name) for name in ASSETS)
SERVICE_WORKER = (
    (Path(__file__).parent / "sw.js")
    .read_text(encoding="utf-8")
    .replace("__SHELL__", msgspec.json.encode(SHELL).decode())
    .replace("__VERSION__", hashlib.sha256(msgspec.json.encode(SHELL)).hexdigest()[:12])
    .encode()
)


@get("/sw.js", include_in_schema=False, sync_to_thread=False)
def service_worker(settings: Settings) -> Response[bytes]:
    """Checked at each visit (no-cache), as browsers do for a service worker anyway. A page
    it keeps is shown offline no longer than a sign-in lasts."""
    return Response(
        SERVICE_WORKER.replace(b"__MAX_AGE_HOURS__", str(settings.token_ttl_hours).encode()),
        media_type=MEDIA_TYPES[".js"],
        headers={
            "Cache-Control": REVALIDATE,
            "Content-Security-Policy": "default-src 'self'",
        },
    )


ASSET_HANDLERS = [static_file, favicon, manifest, service_worker]

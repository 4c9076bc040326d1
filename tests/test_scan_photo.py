"""POST /api/v1/scan/image: photos of our own labels, as a phone would take them (turned,
blurred, small, on a busy background, at an angle, squeezed by JPEG), decode to the
device; several labels in one photo give all of them; other files are refused by what
they are, not by their name; a decompression bomb is refused before it is decoded."""

from __future__ import annotations

import io
import random
import struct
import time
import zlib
from collections.abc import Callable

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from tests.factories import Caller, Factory, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser, csrf_of

Variant = Callable[[Image.Image], Image.Image]


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue()))


def _noise(size: tuple[int, int], seed: int) -> Image.Image:
    """A busy background: grey noise with a few dark strokes, like a desk."""
    rng = random.Random(seed)
    background = Image.effect_noise(size, 60).convert("RGB")
    draw = ImageDraw.Draw(background)
    for _ in range(25):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.line(
            (x, y, x + rng.randrange(-300, 300), y + rng.randrange(-300, 300)),
            fill=(rng.randrange(80), rng.randrange(80), rng.randrange(80)),
            width=rng.randrange(2, 9),
        )
    return background


def _on_background(label: Image.Image, scale: float = 1.0, seed: int = 1) -> Image.Image:
    label = label.convert("RGB")
    if scale != 1.0:
        label = label.resize((int(label.width * scale), int(label.height * scale)))
    background = _noise((label.width * 3, label.height * 4), seed)
    background.paste(label, (label.width, int(label.height * 1.5)))
    return background


def _rotated(angle: float) -> Variant:
    return lambda im: im.convert("RGB").rotate(angle, expand=True, fillcolor=(255, 255, 255))


def _quad(image: Image.Image, skew: float) -> Image.Image:
    """Seen at an angle: the label's top edge narrower than its bottom."""
    w, h = image.width, image.height
    d = int(w * skew)
    return image.convert("RGB").transform(
        (w, h),
        Image.Transform.QUAD,
        (-d, 0, -d // 3, h, w + d // 3, h, w + d, 0),
        Image.Resampling.BICUBIC,
        fillcolor=(255, 255, 255),
    )


def _shadow(image: Image.Image) -> Image.Image:
    """A hand's shadow across half the label."""
    image = image.convert("RGB")
    mask = Image.linear_gradient("L").rotate(90).resize(image.size)
    dark = ImageEnhance.Brightness(image).enhance(0.55)
    return Image.composite(image, dark, mask)


def _covered(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    image = image.convert("RGB")
    w, h = image.size
    ImageDraw.Draw(image).rectangle(
        (box[0] * w, box[1] * h, box[2] * w, box[3] * h), fill=(250, 250, 250)
    )
    return image


VARIANTS: dict[str, Variant] = {
    "as rendered": lambda im: im,
    "turned 90°": _rotated(90),
    "upside down": _rotated(180),
    "turned 270°": _rotated(270),
    "tilted 12°": _rotated(12),
    "tilted -33°": _rotated(-33),
    "slightly blurred": lambda im: im.filter(ImageFilter.GaussianBlur(1.2)),
    "blurred": lambda im: im.filter(ImageFilter.GaussianBlur(2.0)),
    "half size": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "twice the size": lambda im: im.resize((im.width * 2, im.height * 2)),
    "on a busy desk": lambda im: _on_background(im, seed=3),
    "small on a busy desk": lambda im: _on_background(im, 0.7, seed=4),
    "big photo, label in a corner": lambda im: _on_background(im, 1.6, seed=5),
    "at an angle": lambda im: _quad(im, 0.06),
    "at a steep angle": lambda im: _quad(im, 0.14),
    "JPEG quality 75": lambda im: _jpeg(im, 75),
    "JPEG quality 40": lambda im: _jpeg(im, 40),
    "JPEG quality 20": lambda im: _jpeg(im, 20),
    "tilted, blurred, JPEG": lambda im: _jpeg(
        _rotated(8)(im).filter(ImageFilter.GaussianBlur(1)), 60
    ),
    "dim and grey": lambda im: ImageEnhance.Contrast(
        ImageEnhance.Brightness(im.convert("RGB")).enhance(0.7)
    ).enhance(0.5),
    "in a shadow": _shadow,
    "noisy desk, at an angle, JPEG": lambda im: _jpeg(_quad(_on_background(im, seed=6), 0.05), 55),
    "bars covered: the QR alone": lambda im: _covered(im, (0, 0.1, 1, 0.43)),
    "QR covered: the bars alone": lambda im: _covered(im, (0.65, 0.5, 1, 1)),
}


async def _label(client: AsyncTestClient, caller: Caller, tag: str) -> Image.Image:
    response = await client.get(f"{API}/devices/{tag}/label.png?dpi=300", headers=caller.headers)
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


def _file(image: Image.Image, name: str = "photo.jpg") -> dict[str, tuple[str, bytes, str]]:
    out = io.BytesIO()
    if image.format == "JPEG" or name.endswith(".jpg"):
        image.convert("RGB").save(out, "JPEG", quality=92)
        return {"file": (name, out.getvalue(), "image/jpeg")}
    image.save(out, "PNG")
    return {"file": (name, out.getvalue(), "image/png")}


async def _scene_with_tags(client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, n: int):
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(n)
    await scene.at_school(tags)
    return scene, tags


async def test_at_least_twenty_variants_of_our_own_labels_all_decode(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, [tag] = await _scene_with_tags(client, db, factory, 1)
    label = await _label(client, scene.staff_a, tag)
    assert len(VARIANTS) >= 20
    missed = {}
    for name, make in VARIANTS.items():
        photo = make(label.copy())
        answer = await client.post(
            f"{API}/scan/image",
            headers=scene.staff_a.headers,
            files=_file(photo, "photo.png" if name == "as rendered" else "photo.jpg"),
        )
        if answer.status_code != 200 or [d["asset_tag"] for d in answer.json()["items"]] != [tag]:
            missed[name] = answer.text[:300]
    assert not missed, missed


async def test_the_answer_is_the_scan_answer_with_every_code_read(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, [tag] = await _scene_with_tags(client, db, factory, 1)
    label = await _label(client, scene.staff_a, tag)
    answer = await client.post(
        f"{API}/scan/image", headers=scene.staff_a.headers, files=_file(label, "x.png")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    typed = (await client.get(f"{API}/scan/{tag}", headers=scene.staff_a.headers)).json()
    assert body["items"] == [typed]  # the same answer as the scan box's
    assert sorted((c["symbology"], c["text"], c["asset_tag"]) for c in body["codes"]) == [
        ("code128", tag, tag),
        ("qr", f"http://127.0.0.1:8000/d/{tag}", tag),
    ]


async def test_a_box_of_labels_in_one_photo_gives_every_device(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, tags = await _scene_with_tags(client, db, factory, 4)
    labels = [(await _label(client, scene.staff_a, tag)).convert("RGB") for tag in tags]
    w, h = labels[0].size
    photo = _noise((w * 2 + 300, h * 2 + 300), seed=9)
    for i, label in enumerate(labels):
        photo.paste(label, (100 + (i % 2) * (w + 100), 100 + (i // 2) * (h + 100)))
    answer = await client.post(
        f"{API}/scan/image", headers=scene.staff_a.headers, files=_file(_jpeg(photo, 80))
    )
    assert answer.status_code == 200, answer.text
    assert sorted(d["asset_tag"] for d in answer.json()["items"]) == sorted(tags)


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200, "HEIC"),
        (b"\x00\x00\x00\x1cftypavif" + b"\x00" * 200, "AVIF"),
        (b"GIF89a" + b"\x00" * 200, "GIF"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 200, "WebP"),
        (b"%PDF-1.7\n" + b"\x00" * 200, "PDF"),
        (b"not an image at all", None),
    ],
)
async def test_other_files_are_refused_by_what_they_are_not_by_their_name(
    client: AsyncTestClient, factory: Factory, data: bytes, found: str | None
) -> None:
    staff = await factory.staff(await factory.school())
    body = assert_problem(
        await client.post(
            f"{API}/scan/image",
            headers=staff.headers,
            files={"file": ("IMG_0001.jpg", data, "image/jpeg")},  # the name and type lie
        ),
        415,
    )
    assert body["accepted"] == ["image/jpeg", "image/png"] and body["found"] == found
    assert "image/jpeg, image/png" in body["detail"]
    if found:
        assert body["detail"].startswith(f"This file is {found};")


def _png_bomb(width: int, height: int) -> bytes:
    """A one-colour greyscale PNG, compressed row by row: tens of megapixels in tens of KB."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * width
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


async def test_a_decompression_bomb_is_refused_fast_and_big_files_too(
    client: AsyncTestClient, factory: Factory
) -> None:
    staff = await factory.staff(await factory.school())
    bomb = _png_bomb(9000, 9000)  # 81 megapixels
    assert len(bomb) < 200_000
    start = time.perf_counter()
    body = assert_problem(
        await client.post(
            f"{API}/scan/image", headers=staff.headers, files={"file": ("b.png", bomb, "image/png")}
        ),
        413,
    )
    assert time.perf_counter() - start < 1.0
    assert (body["limit"], body["max"]) == ("max_pixels", 40_000_000)
    huge = b"\xff\xd8\xff\xe0" + b"\x00" * (10 * 1024 * 1024 + 100)
    too_big = await client.post(
        f"{API}/scan/image", headers=staff.headers, files={"file": ("big.jpg", huge, "image/jpeg")}
    )
    assert too_big.status_code == 413
    assert too_big.headers["content-type"].startswith("application/problem+json")
    small = _png_bomb(300, 200)
    truncated = assert_problem(
        await client.post(
            f"{API}/scan/image",
            headers=staff.headers,
            files={"file": ("t.png", small[: len(small) // 2], "image/png")},
        ),
        422,
    )
    assert truncated["errors"] == [{"field": "file", "message": "not a readable image"}]
    blank = io.BytesIO()
    Image.new("L", (400, 300), 255).save(blank, "PNG")
    nothing = assert_problem(
        await client.post(
            f"{API}/scan/image",
            headers=staff.headers,
            files={"file": ("blank.png", blank.getvalue(), "image/png")},
        ),
        422,
    )
    assert nothing["errors"] == [{"field": "file", "message": "no code found"}]
    missing = await client.post(
        f"{API}/scan/image", headers=staff.headers, files={"other": ("x", b"x", "text/plain")}
    )
    assert missing.status_code == 422


async def _scan_as(scene: Scene, caller: Caller, photo: dict) -> dict:
    answer = await scene.client.post(f"{API}/scan/image", headers=caller.headers, files=photo)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_roles_and_scope_are_those_of_the_scan_box(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, [tag] = await _scene_with_tags(client, db, factory, 1)
    photo = _file(await _label(client, scene.staff_a, tag), "l.png")
    for caller in (scene.staff_a, scene.officer, scene.donor, scene.admin):
        assert [d["asset_tag"] for d in (await _scan_as(scene, caller, photo))["items"]] == [tag]
    for caller in (scene.staff_b, scene.staff_c, scene.officer_other):
        body = await _scan_as(scene, caller, photo)
        assert body["items"] == []
        assert all(c["asset_tag"] is None and c["problem"] for c in body["codes"]), body
        typed = await client.get(f"{API}/scan/{tag}", headers=caller.headers)
        assert typed.status_code == 404
        assert all(c["problem"] == typed.json()["detail"] for c in body["codes"])
    anonymous = await client.post(f"{API}/scan/image", files=photo)
    assert anonymous.status_code == 401


async def test_the_page_endpoint_answers_the_same_for_the_script(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, [tag] = await _scene_with_tags(client, db, factory, 1)
    photo = _file(await _label(client, scene.staff_a, tag), "l.png")
    refused = await web.post("/scan/image.json", files=photo, headers=browser(scene.staff_a))
    assert refused.status_code == 403  # no CSRF token
    answer = await web.post(
        "/scan/image.json",
        files=photo,
        headers=browser(scene.staff_a) | {"X-CSRF-Token": csrf_of(scene.staff_a.token)},
    )
    assert answer.status_code == 200, answer.text
    assert [d["asset_tag"] for d in answer.json()["items"]] == [tag]
    heic = await web.post(
        "/scan/image.json",
        files={"file": ("a.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 50, "image/heic")},
        headers=browser(scene.staff_a) | {"X-CSRF-Token": csrf_of(scene.staff_a.token)},
    )
    assert heic.status_code == 415
    assert heic.headers["content-type"].startswith("application/problem+json")

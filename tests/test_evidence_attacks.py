"""Evidence and collection under attack: polyglot files (an image with HTML or SVG behind
it), decompression bombs, bodies that are not what they claim, other schools' records by
id, every evidence and collect page tried by a donor and an officer, and one device
collected twice at once."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import asyncpg
from litestar.testing import AsyncTestClient
from PIL import Image

from tests.factories import Factory, assert_problem
from tests.lifecycle_helpers import API
from tests.test_evidence import _loaned, _upload, photo_jpeg, signature_png
from tests.test_evidence_pages import _lent_classes, _scan
from tests.web_helpers import browser, form

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 50_000) -> bytes:
    """A PNG declaring side × side pixels (1-bit grey) whose zeros compress to a few
    hundred KB: decoded whole it would take gigabytes."""
    row = b"\x00" * (1 + side // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


async def test_an_image_with_html_or_svg_behind_it_is_never_kept_with_it(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    staff, path = r.scene.staff_a, f"/assignments/{r.loan}"
    for image, behind, name in (
        (signature_png(), HTML, "s.png"),
        (signature_png(), SVG, "s.png"),
        (photo_jpeg(), SVG, "p.jpg"),
        (photo_jpeg(), HTML, "p.jpg"),
    ):
        answer = await _upload(client, staff, path, image + behind, name)
        if answer.status_code == 201:
            got = await client.get(answer.json()["url"], headers=staff.headers)
            assert got.status_code == 200
            assert behind not in got.content, f"{name} kept with markup behind it"
            assert got.content == image
            assert got.headers["content-disposition"].startswith("attachment;")
        else:
            assert_problem(answer, 422)
    stored = await db.fetch("SELECT content FROM evidence")
    assert all(b"<script" not in row["content"] and b"<svg" not in row["content"] for row in stored)


async def test_a_decompression_bomb_is_refused_not_decoded(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    bomb = png_bomb()
    assert len(bomb) < 5 * 1024 * 1024
    refused = assert_problem(
        await _upload(client, r.scene.staff_a, f"/assignments/{r.loan}", bomb, "b.png"), 422
    )
    assert refused["errors"][0]["field"] == "file"
    # Just above the 40 megapixels allowed (Pillow's own bomb limit is higher): refused too.
    tall = io.BytesIO()
    Image.new("1", (8000, 5001)).save(tall, "PNG")
    too_many = assert_problem(
        await _upload(client, r.scene.staff_a, f"/assignments/{r.loan}", tall.getvalue()), 422
    )
    assert too_many["errors"] == [{"field": "file", "message": "too many pixels"}]
    assert await db.fetchval("SELECT count(*) FROM evidence") == 0


async def test_bodies_that_are_not_a_multipart_image_are_refused_with_a_problem(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    url = f"{API}/assignments/{r.loan}/evidence"
    headers = r.scene.staff_a.headers
    for content_type, body in (
        ("application/json", b'{"file": "x"}'),
        ("multipart/form-data", b"--x\r\n\r\n"),  # no boundary
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data"),
        ("multipart/form-data; boundary=x", b"--x--\r\n"),
        ("image/png", signature_png()),
    ):
        answer = await client.post(
            url, headers={**headers, "content-type": content_type}, content=body
        )
        assert 400 <= answer.status_code < 500, (content_type, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    # A file field sent as text, not as a file.
    as_text = await client.post(url, headers=headers, files={"kind": (None, "signature")})
    assert_problem(as_text, 422)
    assert await db.fetchval("SELECT count(*) FROM evidence") == 0


async def test_other_schools_records_by_id_are_404_on_every_evidence_and_collect_url(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    s = r.scene
    kept = await _upload(client, s.staff_a, f"/assignments/{r.loan}", signature_png())
    handover = await _upload(client, s.staff_a, f"/allocations/{r.allocation}", signature_png())
    evidence_ids = [kept.json()["id"], handover.json()["id"]]
    for caller in (s.donor, s.officer_other, s.staff_b):
        for evidence_id in evidence_ids:
            for thumb in ("", "?thumb=1"):
                page = await web.get(f"/evidence/{evidence_id}{thumb}", headers=browser(caller))
                assert page.status_code == 404, (caller, evidence_id, page.status_code)
        for url in (
            f"/schools/{s.school_a}/collect/",
            f"/schools/{s.school_a}/collect/outstanding.xlsx",
        ):
            page = await web.get(url, headers=browser(caller))
            assert page.status_code in (403, 404), (caller, url, page.status_code)
            assert "Lò Thị Mai" not in page.text
        scan = await web.post(
            f"/schools/{s.school_a}/collect/",
            headers=browser(caller),
            data=form(caller, code=r.tags[0]),
        )
        assert scan.status_code in (403, 404), (caller, scan.status_code)
        signed = await web.post(
            f"/schools/{s.school_a}/handover-evidence",
            headers=browser(caller),
            data=form(caller, allocation_id=str(r.allocation)),
            files={"signature": ("s.png", signature_png(), "image/png")},
        )
        assert signed.status_code in (403, 404), (caller, signed.status_code)
    # Staff of school B, on their own school's page, naming school A's allocation.
    crossed = await web.post(
        f"/schools/{s.school_b}/handover-evidence",
        headers=browser(s.staff_b),
        data=form(s.staff_b, allocation_id=str(r.allocation)),
        files={"signature": ("s.png", signature_png(), "image/png")},
    )
    assert crossed.status_code in (200, 403, 404, 422), crossed.status_code
    assert (await scan_status(db, r.tags[0])) == "assigned"
    assert await db.fetchval("SELECT count(*) FROM evidence") == 2


async def scan_status(db: asyncpg.Pool, tag: str) -> str:
    status: str = await db.fetchval("SELECT status FROM devices WHERE asset_tag = $1", tag)
    return status


async def test_one_device_collected_twice_at_once_is_returned_once(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    from tests.lifecycle_helpers import make_scene

    scene = await make_scene(client, db, factory)
    lent = await _lent_classes(scene)
    tag = lent["6A"][0]
    answers = await asyncio.gather(
        *(_scan(scene, scene.staff_a, scene.school_a, code=tag) for _ in range(4))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409, 409, 409], [a.text for a in answers]
    returned = await db.fetchval(
        "SELECT count(*) FROM device_events e JOIN devices d ON d.id = e.device_id"
        " WHERE d.asset_tag = $1 AND e.action = 'returned'",
        tag,
    )
    assert returned == 1


def _jpeg_forms() -> list[bytes]:
    """Real JPEGs whose bytes hold an 0xFF 0xD9 before their end: progressive with a comment
    naming it, restart markers, and an EXIF thumbnail (a whole JPEG inside APP1)."""
    image = Image.effect_noise((900, 700), 60).convert("RGB")
    forms = []
    for options in (
        {"progressive": True, "comment": b"x\xff\xd9y"},
        {"restart_marker_blocks": 4},
    ):
        out = io.BytesIO()
        image.save(out, "JPEG", **options)
        forms.append(out.getvalue())
    thumb = io.BytesIO()
    image.resize((160, 120)).save(thumb, "JPEG")
    app1 = b"Exif\x00\x00" + thumb.getvalue()
    plain = io.BytesIO()
    image.save(plain, "JPEG")
    whole = plain.getvalue()
    forms.append(whole[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + whole[2:])
    return forms


async def test_real_images_are_kept_byte_for_byte(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    staff, path = r.scene.staff_a, f"/assignments/{r.loan}"
    for image in [*_jpeg_forms(), signature_png()]:
        kept = await _upload(client, staff, path, image, "p.jpg")
        assert kept.status_code == 201, kept.text
        got = await client.get(kept.json()["url"], headers=staff.headers)
        assert got.content == image


async def test_a_consent_of_another_school_is_no_consent_not_a_student_named(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    for answer in (
        await client.get(f"{API}/consents/{r.consent}/evidence", headers=r.scene.staff_b.headers),
        await _upload(client, r.scene.staff_b, f"/consents/{r.consent}", signature_png()),
    ):
        refused = assert_problem(answer, 404)
        assert refused["detail"] == f"No consent {r.consent}.", refused
    for answer in (
        await client.get(f"{API}/assignments/{r.loan}/evidence", headers=r.scene.staff_b.headers),
        await _upload(client, r.scene.staff_b, f"/assignments/{r.loan}", signature_png()),
    ):
        assert assert_problem(answer, 404)["detail"] == f"No assignment {r.loan}."
    none = await client.get(f"{API}/consents/999999/evidence", headers=r.scene.staff_b.headers)
    assert assert_problem(none, 404)["detail"] == "No consent 999999."


async def test_a_handover_signed_on_one_schools_page_is_never_kept_with_anothers_allocation(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """The officer may sign both schools' handovers, but the receive page of school B
    naming school A's allocation is a mistake (or a forged form), not A's minutes."""
    r = await _loaned(client, db, factory)
    s = r.scene
    crossed = await web.post(
        f"/schools/{s.school_b}/handover-evidence",
        headers=browser(s.officer),
        data=form(s.officer, allocation_id=str(r.allocation)),
        files={"signature": ("s.png", signature_png(), "image/png")},
    )
    assert crossed.status_code in (200, 404, 422), crossed.status_code
    assert await db.fetchval("SELECT count(*) FROM evidence") == 0
    own = await web.post(
        f"/schools/{s.school_a}/handover-evidence",
        headers=browser(s.officer),
        data=form(s.officer, allocation_id=str(r.allocation)),
        files={"signature": ("s.png", signature_png(), "image/png")},
    )
    assert own.status_code == 303, own.text
    assert await db.fetchval("SELECT count(*) FROM evidence") == 1

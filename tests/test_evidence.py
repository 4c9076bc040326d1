"""Signatures and photos of signed paper kept with a loan, a consent or an allocation's
handover: stored as checked by their content (JPEG or PNG that decodes, at most 5 MiB),
never sent back as something a browser would run, read by exactly those who may read the
record, drawn into the loan agreement and the handover minutes, forgotten with the
student."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient
from PIL import Image, ImageDraw
from pypdf import PdfReader

from devicetrack.config import Settings
from devicetrack.custody.evidence import THUMB_AS_IS
from tests.factories import Caller, Factory, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.live_server import live_server

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "paper"


def signature_png(width: int = 600, height: int = 200) -> bytes:
    """A signature as the pad draws it: dark strokes on a transparent canvas."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line(
        [(30, 150), (120, 40), (200, 160), (320, 50), (420, 150), (560, 60)],
        fill=(0, 0, 60, 255),
        width=6,
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo_jpeg() -> bytes:
    image = Image.new("RGB", (800, 1100), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for y in range(100, 1000, 40):
        draw.line([(80, y), (720, y)], fill=(40, 40, 40), width=2)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


@dataclass
class Loaned:
    scene: Scene
    allocation: int
    loan: int
    student: int
    consent: int
    tags: list[str]


async def _loaned(client: AsyncTestClient, db: asyncpg.Pool, factory: Factory) -> Loaned:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    allocation = (await scene.allocate(tags))["id"]
    await scene.receive(tags)
    student = await scene.student(full_name="Lò Thị Mai", class_name="6A", grade=6)
    consent = await scene.consent(student["id"])
    loan = await scene.lend(tags[0], student["id"])
    return Loaned(scene, allocation, loan["id"], student["id"], consent["id"], tags)


async def _upload(
    client: AsyncTestClient,
    caller: Caller,
    path: str,
    data: bytes,
    name: str = "s.png",
    **fields: str,
) -> Any:
    return await client.post(
        f"{API}{path}/evidence",
        headers=caller.headers,
        files={"file": (name, data, "image/png")},
        data=fields,
    )


async def test_a_signature_and_a_photo_are_kept_with_the_loan_and_read_back_safely(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    staff = r.scene.staff_a
    signed = await _upload(
        client,
        staff,
        f"/assignments/{r.loan}",
        signature_png(),
        kind="signature",
        signer="Lò Văn Pọm",
    )
    assert signed.status_code == 201, signed.text
    body = signed.json()
    assert (body["kind"], body["media_type"], body["width"], body["height"]) == (
        "signature", "image/png", 600, 200,
    )  # fmt: skip
    assert body["assignment_id"] == r.loan and body["signer"] == "Lò Văn Pọm"
    photo = await _upload(client, staff, f"/assignments/{r.loan}", photo_jpeg(), "p.jpg")
    assert photo.status_code == 201, photo.text
    assert photo.json()["media_type"] == "image/jpeg" and photo.json()["kind"] == "photo"

    listed = await client.get(f"{API}/assignments/{r.loan}/evidence", headers=staff.headers)
    assert [e["id"] for e in listed.json()["items"]] == [body["id"], photo.json()["id"]]
    got = await client.get(body["url"], headers=staff.headers)
    assert got.status_code == 200
    assert got.content == signature_png()
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in got.headers["content-security-policy"]
    assert "sandbox" in got.headers["content-security-policy"]
    # Reading a guardian's signature is a read of the child: it is in the access log.
    logged = await db.fetch("SELECT student_id, route FROM student_access_log ORDER BY id")
    assert (r.student, f"GET /api/v1/evidence/{body['id']}") in [
        (x["student_id"], x["route"]) for x in logged
    ]
    assert (r.student, f"GET /api/v1/assignments/{r.loan}/evidence") in [
        (x["student_id"], x["route"]) for x in logged
    ]
    stored = await db.fetchrow(
        "SELECT school_id, student_id, octet_length(content) AS n FROM evidence WHERE id = $1",
        body["id"],
    )
    assert (stored["school_id"], stored["student_id"]) == (r.scene.school_a, r.student)
    assert stored["n"] == len(signature_png())


async def test_what_is_not_a_real_jpeg_or_png_is_refused_by_its_content(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    staff, path = r.scene.staff_a, f"/assignments/{r.loan}"
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    # Named and typed as a PNG, but HTML: refused by what it is.
    assert_problem(await _upload(client, staff, path, html, "evil.png"), 415)
    # The PNG signature, then HTML: starts like a PNG, does not decode as one.
    fake = b"\x89PNG\r\n\x1a\n" + html
    refused = assert_problem(await _upload(client, staff, path, fake, "evil.png"), 422)
    assert refused["errors"] == [{"field": "file", "message": "not a readable image"}]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    assert_problem(await _upload(client, staff, path, svg, "s.svg"), 415)
    gif = b"GIF89a" + b"\x00" * 100
    assert_problem(await _upload(client, staff, path, gif, "s.gif"), 415)
    bad_kind = assert_problem(
        await _upload(client, staff, path, signature_png(), kind="video"), 422
    )
    assert bad_kind["errors"][0]["field"] == "kind"
    assert await db.fetchval("SELECT count(*) FROM evidence") == 0


async def test_more_than_five_mib_is_refused_naming_the_file_field(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (5 * 1024 * 1024)
    body = assert_problem(
        await _upload(client, r.scene.staff_a, f"/assignments/{r.loan}", big, "big.jpg"), 413
    )
    assert body["errors"] == [{"field": "file", "message": "larger than 5 MiB"}]
    assert body["max"] == 5 * 1024 * 1024
    assert await db.fetchval("SELECT count(*) FROM evidence") == 0


async def test_only_those_who_may_read_the_record_see_its_evidence(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    s = r.scene
    loan = (await _upload(client, s.staff_a, f"/assignments/{r.loan}", signature_png())).json()
    consent = await _upload(client, s.admin, f"/consents/{r.consent}", photo_jpeg(), "c.jpg")
    assert consent.status_code == 201, consent.text
    handover = await _upload(
        client, s.staff_a, f"/allocations/{r.allocation}", signature_png(), kind="signature"
    )
    assert handover.status_code == 201, handover.text
    by_officer = await _upload(
        client, s.officer, f"/allocations/{r.allocation}", signature_png(), kind="signature"
    )
    assert by_officer.status_code == 201, by_officer.text

    named = [
        (f"/assignments/{r.loan}", loan["id"]),
        (f"/consents/{r.consent}", consent.json()["id"]),
    ]
    # A loan's and a consent's evidence name a student: the school's staff and admins.
    for caller in (s.staff_a, s.admin):
        for path, evidence_id in named:
            listed = await client.get(f"{API}{path}/evidence", headers=caller.headers)
            assert listed.status_code == 200 and len(listed.json()["items"]) == 1
            got = await client.get(f"{API}/evidence/{evidence_id}", headers=caller.headers)
            assert got.status_code == 200
    for caller in (s.staff_b, s.staff_c, s.officer, s.officer_other, s.donor):
        for path, evidence_id in named:
            for answer in (
                await client.get(f"{API}{path}/evidence", headers=caller.headers),
                await client.get(f"{API}/evidence/{evidence_id}", headers=caller.headers),
                await _upload(client, caller, path, signature_png()),
            ):
                assert_problem(answer, 404)
    # The handover's: those who see the allocation (its province's officer, the school's
    # staff, admins); never donors, another school or province.
    handover_id = handover.json()["id"]
    for caller in (s.staff_a, s.officer, s.admin):
        got = await client.get(f"{API}/evidence/{handover_id}", headers=caller.headers)
        assert got.status_code == 200
    for caller in (s.staff_b, s.staff_c, s.officer_other, s.donor):
        assert_problem(
            await client.get(f"{API}/evidence/{handover_id}", headers=caller.headers), 404
        )
        assert_problem(
            await client.get(f"{API}/allocations/{r.allocation}/evidence", headers=caller.headers),
            404,
        )
    assert (await client.get(f"{API}/evidence/{handover_id}")).status_code == 401
    assert_problem(await client.get(f"{API}/evidence/999999", headers=s.admin.headers), 404)


def grainy_photo() -> bytes:
    """A photo too big to be sent as its own small copy (over custody/evidence.THUMB_AS_IS)."""
    out = io.BytesIO()
    Image.effect_noise((1200, 900), 40).convert("RGB").save(out, "JPEG", quality=90)
    assert len(out.getvalue()) > THUMB_AS_IS
    return out.getvalue()


async def test_evidence_is_kept_by_the_browser_and_a_current_copy_reads_no_image(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await _loaned(client, db, factory)
    s = r.scene
    photo = grainy_photo()
    made = await _upload(client, s.staff_a, f"/assignments/{r.loan}", photo, "p.jpg")
    assert made.status_code == 201, made.text
    url, evidence_id = made.json()["url"], made.json()["id"]

    full = await client.get(url, headers=s.staff_a.headers)
    assert full.status_code == 200 and full.content == photo
    assert full.headers["cache-control"] == "private, max-age=31536000, immutable"
    etag = full.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # a strong tag
    thumb = await client.get(f"{url}?thumb=true", headers=s.staff_a.headers)
    assert thumb.status_code == 200 and len(thumb.content) < len(photo) // 10
    assert thumb.headers["cache-control"] == "private, max-age=31536000, immutable"
    thumb_etag = thumb.headers["etag"]
    assert thumb_etag != etag
    # The small copy was kept with the row the first time it was made...
    kept = await db.fetchval("SELECT thumbnail FROM evidence WHERE id = $1", evidence_id)
    assert kept == thumb.content
    # ... and is what is sent from then on: a stand-in put there comes back unchanged, so
    # the photo was not decoded again.
    stand_in = signature_png(40, 20)
    await db.execute("UPDATE evidence SET thumbnail = $2 WHERE id = $1", evidence_id, stand_in)
    again = await client.get(f"{url}?thumb=true", headers=s.staff_a.headers)
    assert again.status_code == 200 and again.content == stand_in
    assert again.headers["etag"] == thumb_etag

    # A browser asking with its copy's tag: 304, no body, and the image neither read nor
    # decoded (both would fail here).
    def untouched(*args: object, **kwargs: object) -> None:
        raise AssertionError("the image was read for a 304")

    monkeypatch.setattr("devicetrack.evidence.repository.content", untouched)
    monkeypatch.setattr("devicetrack.evidence.repository.thumbnail", untouched)
    monkeypatch.setattr("devicetrack.custody.evidence.thumbnail", untouched)
    logged = "SELECT count(*) FROM student_access_log WHERE route = $1"
    route = f"GET /api/v1/evidence/{evidence_id}"
    before = await db.fetchval(logged, route)
    for path, tag in ((url, etag), (f"{url}?thumb=true", thumb_etag)):
        for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
            current = await client.get(path, headers={**s.staff_a.headers, "If-None-Match": sent})
            assert current.status_code == 304, (path, sent, current.text)
            assert current.content == b""
            assert current.headers["etag"] == tag
            assert current.headers["cache-control"] == "private, max-age=31536000, immutable"
    # A 304 is still a look at the child's evidence: logged like the 200.
    assert await db.fetchval(logged, route) == before + 8
    monkeypatch.undo()
    # Another tag (an older copy, or the other size) gets the image.
    stale = await client.get(url, headers={**s.staff_a.headers, "If-None-Match": thumb_etag})
    assert stale.status_code == 200 and stale.content == photo

    # Knowing the tag opens nothing: those who may not read the loan still get 404.
    for caller in (s.staff_b, s.staff_c, s.officer, s.officer_other, s.donor):
        for path, tag in ((url, etag), (f"{url}?thumb=true", thumb_etag)):
            answer = await client.get(path, headers={**caller.headers, "If-None-Match": tag})
            assert_problem(answer, 404)
            assert "etag" not in answer.headers
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 401


def _image_xobjects(pdf: bytes) -> int:
    count = 0
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources") or {}
        xobjects = resources.get("/XObject") or {}
        for name in xobjects:
            if xobjects[name].get_object().get("/Subtype") == "/Image":
                count += 1
    return count


async def test_the_evidence_is_drawn_into_the_agreement_and_the_handover(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    s = r.scene
    before = (
        await client.get(f"{API}/assignments/{r.loan}/agreement.pdf", headers=s.staff_a.headers)
    ).content
    assert _image_xobjects(before) == 0
    await _upload(
        client,
        s.staff_a,
        f"/assignments/{r.loan}",
        signature_png(),
        kind="signature",
        signer="Lò Văn Pọm",
    )
    await _upload(client, s.staff_a, f"/assignments/{r.loan}", photo_jpeg(), "p.jpg")
    pdf = await client.get(f"{API}/assignments/{r.loan}/agreement.pdf", headers=s.staff_a.headers)
    assert pdf.status_code == 200
    assert _image_xobjects(pdf.content) == 2
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "agreement-signed.pdf").write_bytes(pdf.content)  # to be looked at
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Lò Văn Pọm" in text and "Chữ ký" in " ".join(text.split())
    await _upload(
        client, s.officer, f"/allocations/{r.allocation}", signature_png(), kind="signature"
    )
    handover = await client.get(
        f"{API}/allocations/{r.allocation}/handover.pdf", headers=s.officer.headers
    )
    assert _image_xobjects(handover.content) == 1


async def test_erasing_the_student_forgets_their_evidence(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _loaned(client, db, factory)
    s = r.scene
    await _upload(client, s.staff_a, f"/assignments/{r.loan}", signature_png())
    await _upload(client, s.staff_a, f"/consents/{r.consent}", photo_jpeg(), "c.jpg")
    handover = await _upload(client, s.staff_a, f"/allocations/{r.allocation}", signature_png())
    back = await client.post(
        f"{API}/assignments/{r.loan}/return",
        headers=s.staff_a.headers,
        json={"condition_in": "good", "wiped": True},
    )
    assert back.status_code == 200, back.text
    exported = await client.get(f"{API}/students/{r.student}/export", headers=s.staff_a.headers)
    assert exported.status_code == 200, exported.text
    assert len(exported.json()["evidence"]) == 2  # the loan's and the consent's
    erased = await client.delete(f"{API}/students/{r.student}", headers=s.staff_a.headers)
    assert erased.status_code in (200, 204), erased.text
    left = await db.fetch("SELECT id FROM evidence ORDER BY id")
    assert [x["id"] for x in left] == [handover.json()["id"]]


# ---- over real HTTP: the app on uvicorn in a process of its own ------------------------


async def test_over_real_http_the_limits_and_the_headers_hold(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, settings: Settings
) -> None:
    r = await _loaned(client, db, factory)
    url = f"{API}/assignments/{r.loan}/evidence"
    headers = r.scene.staff_a.headers
    with live_server(settings) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            signed = await http.post(
                url,
                headers=headers,
                files={"file": ("s.png", signature_png(), "image/png")},
                data={"kind": "signature"},
            )
            assert signed.status_code == 201, signed.text
            got = await http.get(signed.json()["url"], headers=headers)
            assert got.content == signature_png()
            assert got.headers["content-type"] == "image/png"
            assert got.headers["x-content-type-options"] == "nosniff"
            assert got.headers["content-disposition"].startswith("attachment;")
            fake = b"\x89PNG\r\n\x1a\n<!doctype html><script>alert(1)</script>"
            assert_problem(
                await http.post(url, headers=headers, files={"file": ("x.png", fake, "image/png")}),
                422,
            )
            big = b"\xff\xd8\xff\xe0" + b"\x00" * (5 * 1024 * 1024 + 10)
            refused = assert_problem(
                await http.post(url, headers=headers, files={"file": ("b.jpg", big, "image/jpeg")}),
                413,
            )
            assert refused["errors"] == [{"field": "file", "message": "larger than 5 MiB"}]
            # Far past it: refused by the body's limit before it is all read.
            huge = b"\xff\xd8\xff\xe0" + b"\x00" * (12 * 1024 * 1024)
            too_big = await http.post(
                url, headers=headers, files={"file": ("h.jpg", huge, "image/jpeg")}
            )
            assert too_big.status_code == 413
            assert too_big.headers["content-type"].startswith("application/problem+json")
            assert (await http.get("/health")).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM evidence") == 1

"""Evidence and the end-of-year collection through the pages: the lend, return and
receive forms carry a signature (the pad's PNG) and a photo of the signed paper; the
record's page shows them; a file that is not an image refuses the whole form; the
collection closes loans scan after scan, says clearly when a device is not on loan, and
its workbook lists what is still out, class by class. Everyone but the school's staff
and admins gets 404."""

from __future__ import annotations

import io
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient
from PIL import Image
from python_calamine import CalamineWorkbook

from tests.factories import Caller, Factory, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.test_evidence import photo_jpeg, signature_png
from tests.web_helpers import browser, form


def _phone_photo() -> bytes:
    """A phone's photo of a page: 3000 × 2000, grainy, well over a megabyte."""
    image = Image.effect_noise((3000, 2000), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


PHOTO = _phone_photo()


def _files(signature: bytes | None = None, photo: bytes | None = None) -> dict[str, Any]:
    files: dict[str, Any] = {}
    if signature is not None:
        files["signature"] = ("signature.png", signature, "image/png")
    if photo is not None:
        files["photo"] = ("photo.jpg", photo, "image/jpeg")
    return files


async def test_lending_and_taking_back_keep_the_signature_and_the_photo(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student(full_name="Lò Thị Mai")
    staff = browser(scene.staff_a)
    lend_page = await web.get(f"/devices/{tag}/lend", headers=staff)
    assert 'enctype="multipart/form-data"' in lend_page.text
    assert "data-pad-canvas" in lend_page.text and 'name="photo"' in lend_page.text

    lent = await web.post(
        f"/devices/{tag}/lend",
        data=form(scene.staff_a, student_id=str(student), condition="good", signer="Lò Văn Pọm"),
        files=_files(signature_png(), PHOTO),
        headers=staff,
    )
    assert lent.status_code == 303, lent.text
    rows = await db.fetch("SELECT kind, signer, assignment_id FROM evidence ORDER BY id")
    loan_id = await db.fetchval("SELECT id FROM assignments")
    assert [(r["kind"], r["signer"], r["assignment_id"]) for r in rows] == [
        ("signature", "Lò Văn Pọm", loan_id),
        ("photo", "Lò Văn Pọm", loan_id),
    ]
    ids = [r["id"] for r in await db.fetch("SELECT id FROM evidence ORDER BY id")]
    device_page = await web.get(f"/devices/{tag}", headers=staff)
    student_page = await web.get(f"/students/{student}", headers=staff)
    for shown in (device_page, student_page):
        for evidence_id in ids:
            assert f'src="/evidence/{evidence_id}?thumb=1"' in shown.text
    # The page shows a small copy of the photo (a phone's photo is megabytes on 3G).
    small = await web.get(f"/evidence/{ids[1]}?thumb=1", headers=staff)
    assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
    assert len(small.content) < len(PHOTO) // 10
    assert max(Image.open(io.BytesIO(small.content)).size) <= 320
    assert await db.fetchval("SELECT thumbnail FROM evidence WHERE id = $1", ids[1]) == (
        small.content
    )
    # Shown again, the browser's copy is current: 304 and no bytes.
    small_tag = small.headers["etag"]
    current = await web.get(
        f"/evidence/{ids[1]}?thumb=1", headers={**staff, "If-None-Match": small_tag}
    )
    assert current.status_code == 304 and current.content == b""
    assert (await web.get(f"/evidence/{ids[1]}", headers=staff)).content == PHOTO
    image = await web.get(f"/evidence/{ids[0]}", headers=staff)
    assert image.status_code == 200 and image.content == signature_png()
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-disposition"].startswith("attachment")
    # The province's officer sees the device page, never the signatures.
    officer_page = await web.get(f"/devices/{tag}", headers=browser(scene.officer))
    assert "/evidence/" not in officer_page.text
    for caller in (scene.officer, scene.staff_b, scene.donor):
        assert (await web.get(f"/evidence/{ids[0]}", headers=browser(caller))).status_code == 404
        # The tag of a copy opens nothing either.
        tagged = {**browser(caller), "If-None-Match": small_tag}
        assert (await web.get(f"/evidence/{ids[1]}?thumb=1", headers=tagged)).status_code == 404

    # A "photo" that is HTML refuses the whole return: the device stays lent.
    refused = await web.post(
        f"/devices/{tag}/return",
        data=form(scene.staff_a, condition="fair", wiped="1"),
        files={"photo": ("x.png", b"\x89PNG\r\n\x1a\n<html><script>1</script>", "image/png")},
        headers=staff,
    )
    assert refused.status_code == 422
    assert "not a readable image" in refused.text
    assert (await scene.device(tag))["status"] == "assigned"
    back = await web.post(
        f"/devices/{tag}/return",
        data=form(scene.staff_a, condition="fair", wiped="1"),
        files=_files(signature_png(300, 100)),
        headers=staff,
    )
    assert back.status_code == 303, back.text
    assert (await scene.device(tag))["status"] == "at_school"
    assert await db.fetchval("SELECT count(*) FROM evidence WHERE assignment_id = $1", loan_id) == 3
    # Lending without any evidence still works (an empty file input sends an empty part).
    lent_again = await web.post(
        f"/devices/{tag}/lend",
        data=form(scene.staff_a, student_id=str(student), condition="good"),
        files={"signature": ("", b"", "application/octet-stream")},
        headers=staff,
    )
    assert lent_again.status_code == 303, lent_again.text


async def test_the_receive_page_signs_the_handover(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    allocation = (await scene.allocate(tags))["id"]
    staff = browser(scene.staff_a)
    page = await web.get(f"/schools/{scene.school_a}/receive", headers=staff)
    assert f'href="/allocations/{allocation}/handover.pdf"' in page.text
    assert f'action="/schools/{scene.school_a}/handover-evidence"' in page.text
    nothing = await web.post(
        f"/schools/{scene.school_a}/handover-evidence",
        data=form(scene.staff_a, allocation_id=str(allocation)),
        headers=staff,
    )
    assert nothing.status_code == 422 and "sign, or choose a photo" in nothing.text
    signed = await web.post(
        f"/schools/{scene.school_a}/handover-evidence",
        data=form(scene.staff_a, allocation_id=str(allocation), signer="Hiệu trưởng"),
        files=_files(signature_png()),
        headers=staff,
    )
    assert signed.status_code == 303, signed.text
    [row] = await db.fetch("SELECT id, allocation_id, kind FROM evidence")
    assert (row["allocation_id"], row["kind"]) == (allocation, "signature")
    again = await web.get(signed.headers["location"], headers=staff)
    assert "Signature kept." in again.text and f'src="/evidence/{row["id"]}?thumb=1"' in again.text
    other = await web.post(
        f"/schools/{scene.school_b}/handover-evidence",
        data=form(scene.staff_a, allocation_id=str(allocation)),
        files=_files(signature_png()),
        headers=staff,
    )
    assert other.status_code == 404


# ---- the end-of-year collection ------------------------------------------------------


async def _lent_classes(scene: Scene) -> dict[str, list[str]]:
    """Five tablets lent: three in 6A, one in 7B, one to a student with no class; a sixth
    tablet at school, not lent."""
    tags = await scene.tablets(6)
    await scene.at_school(tags)
    lent: dict[str, list[str]] = {}
    for tag, (name, klass) in zip(
        tags,
        [
            ("Lò Thị Mai", "6A"),
            ("Giàng A Páo", "6A"),
            ("Quàng Văn Hùng", "6A"),
            ("Sùng Thị Dợ", "7B"),
            ("Vì Văn Tâm", None),
        ],
        strict=False,
    ):
        values = {"full_name": name} | ({"class_name": klass} if klass else {})
        student = await scene.consenting_student(**values)
        await scene.lend(tag, student, condition_out="good" if klass != "7B" else "fair")
        lent.setdefault(klass or "–", []).append(tag)
    lent["free"] = [tags[5]]
    return lent


async def _scan(scene: Scene, caller: Caller, school: int, **body: Any) -> Any:
    return await scene.client.post(
        f"{API}/schools/{school}/collect/scans", headers=caller.headers, json=body
    )


async def test_the_collection_closes_loans_and_lists_what_is_still_out_by_class(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    lent = await _lent_classes(scene)
    school, staff = scene.school_a, scene.staff_a
    first = await _scan(scene, staff, school, code=lent["6A"][0].lower().replace("-", ""))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["returned"]["asset_tag"] == lent["6A"][0]
    assert body["returned"]["condition_in"] == "good"  # as lent
    assert body["returned"]["wiped"] is False and body["still_out"] == 4
    seven_b = await _scan(scene, staff, school, code=lent["7B"][0], condition_in="poor", wiped=True)
    assert seven_b.status_code == 200, seven_b.text
    assert (seven_b.json()["returned"]["condition_in"], seven_b.json()["still_out"]) == ("poor", 3)
    device = await scene.device(lent["7B"][0])
    assert (device["status"], device["condition"], device["needs_wipe"]) == (
        "at_school",
        "poor",
        False,
    )
    events = await scene.events(lent["7B"][0])
    assert events[-1]["action"] == "returned" and events[-1]["data"]["wiped"] is True

    # Not on loan: said clearly, nothing changes.
    for code in (lent["free"][0], lent["6A"][0]):
        refused = assert_problem(await _scan(scene, staff, school, code=code), 409)
        assert "is not on loan" in refused["detail"] and refused["asset_tag"] == code
        assert refused["current_status"] == "at_school"
    assert_problem(await _scan(scene, staff, school, code="DT11-999999-3"), 404)

    outstanding = await client.get(f"{API}/schools/{school}/collect", headers=staff.headers)
    assert outstanding.status_code == 200
    classes = {
        c["class_name"]: [x["asset_tag"] for x in c["loans"]] for c in outstanding.json()["classes"]
    }
    assert classes == {
        "6A": sorted(lent["6A"][1:], key=lambda t: classes["6A"].index(t)),
        None: lent["–"],
    }
    assert [c["class_name"] for c in outstanding.json()["classes"]] == ["6A", None]
    assert outstanding.json()["total"] == 3

    workbook = await client.get(
        f"{API}/schools/{school}/collect/outstanding.xlsx", headers=staff.headers
    )
    assert workbook.status_code == 200
    assert workbook.content.startswith(b"PK")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(workbook.content))
    rows = sheet.get_sheet_by_index(0).to_python()
    assert rows[0][:4] == ["Class", "Student code", "Full name", "Asset tag"]
    listed = [(r[0], r[2], r[3]) for r in rows[1:]]
    assert sorted(listed) == sorted(
        [("6A", "Giàng A Páo", lent["6A"][1]), ("6A", "Quàng Văn Hùng", lent["6A"][2]),
         ("–", "Vì Văn Tâm", lent["–"][0])]
    )  # fmt: skip
    assert [r[0] for r in listed] == ["6A", "6A", "–"]


async def test_only_the_schools_staff_and_admins_collect(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    lent = await _lent_classes(scene)
    school = scene.school_a
    for caller in (scene.staff_b, scene.staff_c, scene.officer, scene.officer_other, scene.donor):
        assert_problem(
            await client.get(f"{API}/schools/{school}/collect", headers=caller.headers), 404
        )
        assert_problem(
            await client.get(
                f"{API}/schools/{school}/collect/outstanding.xlsx", headers=caller.headers
            ),
            404,
        )
        assert_problem(await _scan(scene, caller, school, code=lent["6A"][0]), 404)
    assert (await scene.device(lent["6A"][0]))["status"] == "assigned"
    # A device of school A scanned at school B by B's staff: refused, never returned.
    assert (
        await _scan(scene, scene.staff_b, scene.school_b, code=lent["6A"][0])
    ).status_code == 404
    by_admin = await _scan(scene, scene.admin, school, code=lent["6A"][0])
    assert by_admin.status_code == 200, by_admin.text
    assert (await client.get(f"{API}/schools/{school}/collect")).status_code == 401


async def test_the_collect_page_on_a_phone(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    lent = await _lent_classes(scene)
    staff = browser(scene.staff_a)
    school_page = await web.get(f"/schools/{scene.school_a}", headers=staff)
    assert f'href="/schools/{scene.school_a}/collect"' in school_page.text
    page = await web.get(f"/schools/{scene.school_a}/collect", headers=staff)
    assert page.status_code == 200
    assert "Lò Thị Mai" in page.text and ">5<" in page.text
    done = await web.post(
        f"/schools/{scene.school_a}/collect",
        data=form(scene.staff_a, code=lent["6A"][0], condition="as_lent", wiped="1"),
        headers=staff,
    )
    assert done.status_code == 200, done.text
    assert "data-collected" in done.text and ">4<" in done.text
    assert 'name="wiped" value="1" checked' in done.text  # kept for the next device
    loan = await db.fetchrow(
        "SELECT condition_in, wiped FROM assignments WHERE returned_at IS NOT NULL"
    )
    assert (loan["condition_in"], loan["wiped"]) == ("good", True)
    refused = await web.post(
        f"/schools/{scene.school_a}/collect",
        data=form(scene.staff_a, code=lent["free"][0], condition="fair"),
        headers=staff,
    )
    assert refused.status_code == 409
    assert "is not on loan" in refused.text and ">4<" in refused.text
    sheet = await web.get(f"/schools/{scene.school_a}/collect/outstanding.xlsx", headers=staff)
    assert sheet.status_code == 200 and sheet.content.startswith(b"PK")
    for caller in (scene.officer, scene.staff_b, scene.donor):
        assert (
            await web.get(f"/schools/{scene.school_a}/collect", headers=browser(caller))
        ).status_code == 404


async def test_a_consent_keeps_the_photo_of_the_signed_form(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    student = await scene.student(full_name="Lò Thị Mai")
    staff = browser(scene.staff_a)
    recorded = await web.post(
        f"/students/{student['id']}/consents",
        data=form(scene.staff_a, given_by="Lò Văn Pọm", method="paper", given_at="2025-09-05"),
        files=_files(photo=photo_jpeg()),
        headers=staff,
    )
    assert recorded.status_code == 303, recorded.text
    row = await db.fetchrow("SELECT id, consent_id, student_id, kind FROM evidence")
    consent = await db.fetchval("SELECT id FROM consents")
    assert (row["consent_id"], row["student_id"], row["kind"]) == (consent, student["id"], "photo")
    page = await web.get(f"/students/{student['id']}", headers=staff)
    assert f'src="/evidence/{row["id"]}?thumb=1"' in page.text
    # An SVG as the photo: the consent is not recorded either.
    refused = await web.post(
        f"/students/{student['id']}/consents",
        data=form(scene.staff_a, given_by="Lò Văn Pọm", method="paper", given_at="2025-09-06"),
        files={"photo": ("c.svg", b"<svg onload='alert(1)'/>", "image/svg+xml")},
        headers=staff,
    )
    assert refused.status_code == 415
    assert await db.fetchval("SELECT count(*) FROM consents") == 1

"""The printed records: handover minutes, loan agreements, class loan sheets and disposal
records as A4 PDFs in Vietnamese (English on request), in the administrative style, with a
QR code that opens the record; each refused (404) to whoever may not read the record.
Page 1 of each is saved as a PNG under test-artifacts/paper/ to be looked at."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from pypdf import PdfReader

from tests.factories import Caller, Factory, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "paper"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập – Tự do – Hạnh phúc")


@dataclass
class Records:
    scene: Scene
    allocation: int
    agreement: int  # the loan of Lò Thị Mai (6A)
    retired: str
    lent: str
    tags: list[str]


def _text(pdf: bytes) -> list[str]:
    """Each page's text, its runs of white space as one space (table cells wrap)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def _page_one(pdf: bytes, name: str, dpi: int = 100) -> Path:
    """Page 1 as a PNG under test-artifacts/paper/ (to look at), its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", "1", "-l", "1",
             str(source), str(ARTIFACTS / name)],
            check=True,
        )  # fmt: skip
    return ARTIFACTS / f"{name}.png"


async def _records(client: AsyncTestClient, db: asyncpg.Pool, factory: Factory) -> Records:
    scene = await make_scene(client, db, factory)
    await db.execute(
        "UPDATE schools SET name = 'Trường PTDTBT TH&THCS Mường Nhé' WHERE id = $1",
        scene.school_a,
    )
    tags = await scene.intake(
        *(
            {"kind": "tablet", "make": "Samsung", "model": "Galaxy Tab A8", "serial": f"R9X{i}"}
            for i in range(3)
        ),
        {"kind": "smartphone", "make": "Nokia", "imei": "490154203237518"},
    )
    allocation = (await scene.allocate(tags))["id"]
    await scene.receive(tags)
    mai = await scene.student(
        full_name="Lò Thị Mai",
        class_name="6A",
        grade=6,
        guardian_name="Lò Văn Pọm",
        guardian_phone="0912345678",
    )
    await scene.consent(mai["id"])
    vang = await scene.student(full_name="Giàng A Vàng", class_name="7B", grade=7)
    await scene.consent(vang["id"])
    loan = await scene.lend(tags[0], mai["id"], condition_out="good", due_back_on="2030-05-31")
    await scene.lend(tags[1], vang["id"])
    # A tablet lent, returned reset, then retired with its reason.
    other = await scene.student(full_name="Quàng Văn Hùng", class_name="6A", grade=6)
    await scene.consent(other["id"])
    back = await scene.lend(tags[2], other["id"])
    returned = await client.post(
        f"{API}/assignments/{back['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "broken", "wiped": True},
    )
    assert returned.status_code == 200, returned.text
    await scene.act(scene.officer, tags[2], "retire", reason="Màn hình vỡ, không sửa được")
    return Records(scene, allocation, loan["id"], tags[2], tags[0], tags)


async def _get(scene: Scene, caller: Caller, path: str) -> bytes:
    response = await scene.client.get(f"{API}{path}", headers=caller.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    return response.content


async def test_the_handover_minutes_in_the_administrative_style(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _records(client, db, factory)
    pdf = await _get(r.scene, r.scene.officer, f"/allocations/{r.allocation}/handover.pdf")
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    text = _text(pdf)[0]
    for expected in (
        *MOTTO,
        "SỞ GD&ĐT ĐIỆN BIÊN",
        "BIÊN BẢN BÀN GIAO THIẾT BỊ",
        "Điện Biên, ngày",
        "Bên giao (Bên A):",
        "Bên nhận (Bên B):",
        "Trường PTDTBT TH&THCS Mường Nhé",
        "Máy tính bảng",
        "Samsung Galaxy Tab A8",
        "IMEI 490154203237518",
        "ĐẠI DIỆN BÊN GIAO",
        "ĐẠI DIỆN BÊN NHẬN",
        "(Ký, ghi rõ họ tên)",
        f"/allocations/{r.allocation}/handover.pdf",
        *r.tags,
    ):
        assert expected in text, expected
    english = _text(
        await _get(r.scene, r.scene.officer, f"/allocations/{r.allocation}/handover.pdf?lang=en")
    )[0]
    assert "SOCIALIST REPUBLIC OF VIET NAM" in english and "DEVICE HANDOVER RECORD" in english
    assert "Independence – Freedom – Happiness" in english and "FOR PARTY B" in english
    _page_one(pdf, "handover")
    _page_one(
        await _get(r.scene, r.scene.staff_a, f"/allocations/{r.allocation}/handover.pdf?lang=en"),
        "handover-en",
    )


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
async def test_the_qr_on_a_record_opens_it(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory, settings
) -> None:
    import zxingcpp
    from PIL import Image

    r = await _records(client, db, factory)
    pdf = await _get(r.scene, r.scene.staff_a, f"/allocations/{r.allocation}/handover.pdf")
    found = {
        b.text for b in zxingcpp.read_barcodes(Image.open(_page_one(pdf, "handover-qr", dpi=200)))
    }
    assert f"{settings.public_url}/allocations/{r.allocation}/handover.pdf" in found
    retired = await _get(r.scene, r.scene.officer, f"/devices/{r.retired}/retirement.pdf")
    found = {
        b.text
        for b in zxingcpp.read_barcodes(Image.open(_page_one(retired, "retirement-qr", dpi=200)))
    }
    assert f"{settings.public_url}/d/{r.retired}" in found


async def test_the_loan_agreement_names_the_student_and_is_logged(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _records(client, db, factory)
    before = await db.fetchval("SELECT count(*) FROM student_access_log")
    pdf = await _get(r.scene, r.scene.staff_a, f"/assignments/{r.agreement}/agreement.pdf")
    text = " ".join(_text(pdf))  # the signatures may go over to a second page
    for expected in (
        *MOTTO,
        "BIÊN BẢN CHO MƯỢN THIẾT BỊ HỌC TẬP",
        "TRƯỜNG PTDTBT TH&THCS MƯỜNG NHÉ",
        "Lò Thị Mai",
        "lớp 6A, khối 6",
        "Lò Văn Pọm, điện thoại +84912345678",
        r.lent,
        "Tốt",  # condition when lent
        "31/05/2030",
        "Cam kết của cha mẹ / người giám hộ",
        "Không bán, cho mượn, cầm cố",
        "CHA MẸ / NGƯỜI GIÁM HỘ",
        "HỌC SINH",
        "ĐẠI DIỆN NHÀ TRƯỜNG",
    ):
        assert expected in text, expected
    logged = await db.fetch(
        "SELECT student_id, route FROM student_access_log ORDER BY id OFFSET $1", before
    )
    mai = await db.fetchval("SELECT id FROM students WHERE full_name = 'Lò Thị Mai'")
    assert [(x["student_id"], x["route"]) for x in logged] == [
        (mai, f"GET /api/v1/assignments/{r.agreement}/agreement.pdf")
    ]
    _page_one(pdf, "agreement")
    english = _text(
        await _get(r.scene, r.scene.admin, f"/assignments/{r.agreement}/agreement.pdf?lang=en")
    )[0]
    assert "DEVICE LOAN AGREEMENT" in english and "The guardian's commitments" in english


async def test_the_loan_sheet_has_a_page_per_class_with_a_signature_column(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _records(client, db, factory)
    pdf = await _get(r.scene, r.scene.staff_a, f"/schools/{r.scene.school_a}/loan-sheet.pdf")
    pages = _text(pdf)
    assert len(pages) == 2  # 6A and 7B: the retired tablet's borrower holds nothing now
    assert "Lớp 6A" in pages[0] and "Lò Thị Mai" in pages[0] and "Giàng A Vàng" not in pages[0]
    assert "Lớp 7B" in pages[1] and "Giàng A Vàng" in pages[1]
    for page in pages:
        assert "DANH SÁCH HỌC SINH MƯỢN THIẾT BỊ" in page and "Chữ ký" in page
        assert MOTTO[0] in page and MOTTO[1] in page
    assert "Quàng Văn Hùng" not in "".join(pages)
    one = _text(
        await _get(
            r.scene, r.scene.staff_a, f"/schools/{r.scene.school_a}/loan-sheet.pdf?class_name=7B"
        )
    )
    assert len(one) == 1 and "Giàng A Vàng" in one[0] and "Lò Thị Mai" not in one[0]
    logged = await db.fetch(
        "SELECT s.full_name FROM student_access_log l JOIN students s ON s.id = l.student_id"
        " WHERE l.route LIKE '%loan-sheet.pdf'"
    )
    assert sorted(x["full_name"] for x in logged) == ["Giàng A Vàng", "Giàng A Vàng", "Lò Thị Mai"]
    _page_one(pdf, "loan-sheet")


async def test_the_disposal_record_carries_the_wipe(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _records(client, db, factory)
    pdf = await _get(r.scene, r.scene.admin, f"/devices/{r.retired}/retirement.pdf")
    text = " ".join(_text(pdf))
    for expected in (
        *MOTTO,
        "BIÊN BẢN THANH LÝ THIẾT BỊ",
        r.retired,
        "Samsung Galaxy Tab A8",
        "Màn hình vỡ, không sửa được",  # the reason, free text: as the device page shows it
        "Dữ liệu trên thiết bị đã được xóa",
        "NGƯỜI LẬP BIÊN BẢN",
        "Trường PTDTBT TH&THCS Mường Nhé",
    ):
        assert expected in text, expected
    _page_one(pdf, "retirement")
    # The device was lent: its free text may name the student, and officers read free text
    # only on devices never lent (devices.service.may_read_text); the record keeps it too.
    officers = " ".join(
        _text(await _get(r.scene, r.scene.officer, f"/devices/{r.retired}/retirement.pdf"))
    )
    assert r.retired in officers and "Màn hình vỡ" not in officers
    # Retired from stock, never wiped: boxes to tick by hand.
    [fresh] = await r.scene.tablets(1)
    await r.scene.act(r.scene.officer, fresh, "retire", reason="e-waste")
    unwiped = _text(await _get(r.scene, r.scene.officer, f"/devices/{fresh}/retirement.pdf"))[0]
    assert "Chưa ghi nhận việc xóa dữ liệu" in unwiped and "☐" in unwiped
    not_retired = assert_problem(
        await client.get(f"{API}/devices/{r.lent}/retirement.pdf", headers=r.scene.officer.headers),
        409,
    )
    assert not_retired["current_status"] == "assigned"


async def test_each_record_is_refused_to_whoever_may_not_read_it(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _records(client, db, factory)
    s = r.scene
    paths = {
        "handover": f"/allocations/{r.allocation}/handover.pdf",
        "agreement": f"/assignments/{r.agreement}/agreement.pdf",
        "loan-sheet": f"/schools/{s.school_a}/loan-sheet.pdf",
        "retirement": f"/devices/{r.retired}/retirement.pdf",
    }
    allowed = {
        "handover": (s.admin, s.officer, s.staff_a),
        "agreement": (s.admin, s.staff_a),
        "loan-sheet": (s.admin, s.staff_a),
        "retirement": (s.admin, s.officer, s.staff_a),
    }
    everyone = (s.admin, s.officer, s.officer_other, s.staff_a, s.staff_b, s.staff_c, s.donor)
    for name, path in paths.items():
        for caller in everyone:
            response = await client.get(f"{API}{path}", headers=caller.headers)
            if caller in allowed[name]:
                assert response.status_code == 200, (name, caller.role, response.text)
            else:
                assert_problem(response, 404)
        assert (await client.get(f"{API}{path}")).status_code == 401
    # Nothing the refused callers asked for was logged as a read of a child.
    roles = await db.fetch(
        "SELECT DISTINCT u.role FROM student_access_log l JOIN users u ON u.id = l.user_id"
    )
    assert {x["role"] for x in roles} <= {"admin", "school_staff"}
    missing = await client.get(f"{API}/allocations/999999/handover.pdf", headers=s.admin.headers)
    assert_problem(missing, 404)


async def test_the_pages_link_to_their_records(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    r = await _records(client, db, factory)
    s = r.scene
    mai = await db.fetchval("SELECT id FROM students WHERE full_name = 'Lò Thị Mai'")
    links = {
        f"/schools/{s.school_a}/allocate?allocation={r.allocation}": (
            s.officer,
            f"/allocations/{r.allocation}/handover.pdf",
        ),
        f"/devices/{r.lent}": (s.staff_a, f"/assignments/{r.agreement}/agreement.pdf"),
        f"/students/{mai}": (s.staff_a, f"/assignments/{r.agreement}/agreement.pdf"),
        f"/schools/{s.school_a}/students": (s.staff_a, f"/schools/{s.school_a}/loan-sheet.pdf"),
        f"/devices/{r.retired}": (s.officer, f"/devices/{r.retired}/retirement.pdf"),
    }
    for page, (caller, link) in links.items():
        shown = await web.get(page, headers=browser(caller))
        assert shown.status_code == 200, (page, shown.text[:300])
        assert f'href="{link}"' in shown.text, (page, link)
        pdf = await web.get(link, headers=browser(caller))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), (link, pdf.text[:300])
    # A page's record refused like the API's: the officer never gets the agreement.
    refused = await web.get(f"/assignments/{r.agreement}/agreement.pdf", headers=browser(s.officer))
    assert refused.status_code == 404
    # The donor's device page offers no disposal record.
    donor_page = await web.get(f"/devices/{r.retired}", headers=browser(s.donor))
    assert donor_page.status_code == 200 and "retirement.pdf" not in donor_page.text

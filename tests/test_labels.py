"""Labels: SVG/PNG for one device, PDF sheets in every template, decoded back with ZBar."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from tests.factories import DIEN_BIEN, assert_problem

try:
    from pyzbar.pyzbar import decode as zbar_decode

    zbar_decode(Image.new("L", (10, 10), 255))
    HAVE_ZBAR = True
except Exception:  # ImportError, or the ZBar shared library is missing
    HAVE_ZBAR = False
needs_zbar = pytest.mark.skipif(not HAVE_ZBAR, reason="ZBar (libzbar0) is not installed")
needs_pdftoppm = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed"
)
PROGRAMME = "Sở GD&ĐT Điện Biên"


async def _devices(client, factory, n: int = 7):
    admin = await factory.admin()
    donor = await factory.donor(name="Quỹ Vì Tầm Vóc Việt")
    donation = (
        await client.post(
            "/api/v1/donations",
            headers=admin.headers,
            json={"donor_id": donor, "province_code": DIEN_BIEN, "reference": "LBL-1"},
        )
    ).json()["id"]
    created = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        json=[{"kind": "tablet", "serial": f"TAB-{i}"} for i in range(n)],
    )
    assert created.status_code == 201, created.text
    return admin, donor, donation, created.json()["asset_tags"]


def _decode_png(data: bytes) -> list[str]:
    """The Code 128 symbols ZBar reads (each label carries a QR too: see the zxing tests)."""
    symbols = zbar_decode(Image.open(io.BytesIO(data)))
    return sorted(d.data.decode() for d in symbols if d.type == "CODE128")


def _pages(pdf: bytes, dpi: int = 300) -> list[Image.Image]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sheet.pdf"
        path.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(path), str(Path(tmp) / "p")], check=True
        )
        pages = [Image.open(page) for page in sorted(Path(tmp).glob("p*.png"))]
        for page in pages:
            page.load()
        return pages


def _decode_pdf(pdf: bytes, dpi: int = 300, symbology: str = "CODE128") -> list[str]:
    """The texts of the codes of one symbology (zbar's name: CODE128, QRCODE) on the sheet:
    a label carries both a barcode and a QR code."""
    found: list[str] = []
    for page in _pages(pdf, dpi):
        found += [d.data.decode() for d in zbar_decode(page) if d.type == symbology]
    return sorted(found)


def _zxing_pdf(pdf: bytes, dpi: int = 300) -> tuple[list[str], list[str]]:
    """(Code 128 texts, QR texts) zxing-cpp reads off the sheet rendered at `dpi`."""
    import zxingcpp

    codes: list[str] = []
    qrs: list[str] = []
    for page in _pages(pdf, dpi):
        for result in zxingcpp.read_barcodes(page):
            if result.format == zxingcpp.BarcodeFormat.Code128:
                codes.append(result.text)
            elif result.format == zxingcpp.BarcodeFormat.QRCode:
                qrs.append(result.text)
    return sorted(codes), sorted(qrs)


async def test_svg_label_shows_tag_programme_donor_and_kind(client, factory) -> None:
    admin, _, _, tags = await _devices(client, factory, 1)
    response = await client.get(f"/api/v1/devices/{tags[0]}/label.svg", headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = response.text
    assert tags[0] in svg and PROGRAMME.replace("&", "&amp;") in svg and "Máy tính bảng" in svg
    assert svg.count("<rect") > 20  # the bars are vector rectangles


@needs_zbar
async def test_png_and_svg_labels_decode_to_the_tag(client, factory) -> None:
    admin, _, _, tags = await _devices(client, factory, 1)
    png = await client.get(f"/api/v1/devices/{tags[0]}/label.png?dpi=300", headers=admin.headers)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert _decode_png(png.content) == [tags[0]]
    if shutil.which("rsvg-convert") is None:
        pytest.skip("rsvg-convert (librsvg2-bin) is not installed to rasterise the SVG")
    svg = await client.get(f"/api/v1/devices/{tags[0]}/label.svg", headers=admin.headers)
    raster = subprocess.run(  # noqa: ASYNC221 - a short local conversion in a test
        ["rsvg-convert", "--dpi-x", "300", "--dpi-y", "300", "-b", "white"],
        input=svg.content,
        capture_output=True,
        check=True,
    )
    assert _decode_png(raster.stdout) == [tags[0]]


@needs_zbar
@needs_pdftoppm
@pytest.mark.parametrize("template", ["avery-l7651", "a4-3x8", "thermal-50x25"])
async def test_sheets_decode_back_to_exactly_the_tags(client, factory, template) -> None:
    admin, _, donation, tags = await _devices(client, factory)
    response = await client.post(
        "/api/v1/labels",
        headers=admin.headers,
        json={"donation_id": donation, "template": template},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert _decode_pdf(response.content) == sorted(tags)


@needs_pdftoppm
@pytest.mark.parametrize("template", ["avery-l7651", "a4-3x8", "thermal-50x25"])
async def test_every_label_carries_a_qr_of_its_link_and_both_codes_decode(
    client, factory, settings, template
) -> None:
    """The QR (for a phone's camera) and the Code 128 (for USB scanners) of every label of
    each stock decode from the sheet rendered at 300 dpi, as a printer would print it."""
    admin, _, donation, tags = await _devices(client, factory)
    response = await client.post(
        "/api/v1/labels",
        headers=admin.headers,
        json={"donation_id": donation, "template": template},
    )
    assert response.status_code == 200, response.text
    codes, qrs = _zxing_pdf(response.content)
    assert codes == sorted(tags)
    assert qrs == sorted(f"{settings.public_url}/d/{tag}" for tag in tags)


async def test_the_qr_holds_the_public_url_at_error_correction_m(client, factory) -> None:
    import zxingcpp

    admin, _, _, tags = await _devices(client, factory, 1)
    png = await client.get(f"/api/v1/devices/{tags[0]}/label.png?dpi=300", headers=admin.headers)
    found = {r.format: r for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))}
    assert found[zxingcpp.BarcodeFormat.Code128].text == tags[0]
    qr = found[zxingcpp.BarcodeFormat.QRCode]
    assert qr.text == f"http://127.0.0.1:8000/d/{tags[0]}" and qr.ec_level == "M"
    svg = await client.get(f"/api/v1/devices/{tags[0]}/label.svg", headers=admin.headers)
    assert svg.text.count("<path") == 1  # the QR, one path of its dark runs


async def test_pdf_text_keeps_vietnamese_and_skip_and_copies_place_labels(client, factory) -> None:
    from pypdf import PdfReader

    admin, _, _, tags = await _devices(client, factory, 3)
    response = await client.post(
        "/api/v1/labels",
        headers=admin.headers,
        json={"asset_tags": tags, "template": "a4-3x8", "skip": 22, "copies": 2},
    )
    assert response.status_code == 200, response.text
    reader = PdfReader(io.BytesIO(response.content))
    # 6 labels from position 22 of a 24-label sheet: 2 on the first page, 4 on the next.
    assert len(reader.pages) == 2
    first, second = (p.extract_text() for p in reader.pages)
    assert PROGRAMME in first
    assert first.count(tags[0]) == 2 and tags[1] not in first
    assert second.count(tags[1]) == 2 and second.count(tags[2]) == 2


async def test_label_batches_print_before_devices_exist(client, factory) -> None:
    officer = await factory.officer(DIEN_BIEN)
    batch = await client.post(
        "/api/v1/label-batches",
        headers=officer.headers,
        json={"province_code": DIEN_BIEN, "count": 5},
    )
    assert batch.status_code == 201, batch.text
    response = await client.post(
        "/api/v1/labels", headers=officer.headers, json={"label_batch": batch.json()["id"]}
    )
    assert response.status_code == 200
    if HAVE_ZBAR and shutil.which("pdftoppm"):
        detail = (
            await client.get(f"/api/v1/label-batches/{batch.json()['id']}", headers=officer.headers)
        ).json()
        assert _decode_pdf(response.content) == sorted(detail["tags"])


async def test_bad_label_requests_get_problem_json(client, factory) -> None:
    admin, _, donation, tags = await _devices(client, factory, 2)
    h = admin.headers
    assert_problem(
        await client.post(
            "/api/v1/labels", headers=h, json={"donation_id": donation, "template": "avery-l9999"}
        ),
        400,
    )
    body = assert_problem(
        await client.post("/api/v1/labels", headers=h, json={"donation_id": donation, "skip": 65}),
        422,
    )
    assert body["errors"][0]["field"] == "skip"
    assert_problem(await client.post("/api/v1/labels", headers=h, json={}), 422)
    assert_problem(
        await client.post("/api/v1/labels", headers=h, json={"asset_tags": ["DT11-999999-0"]}), 422
    )
    wrong = tags[0][:-1] + str((int(tags[0][-1]) + 1) % 10)
    assert_problem(
        await client.post("/api/v1/labels", headers=h, json={"asset_tags": [wrong]}), 422
    )
    assert_problem(await client.get("/api/v1/devices/DT11-999999-3/label.svg", headers=h), 404)


async def test_a_donor_cannot_print_another_donors_labels(client, factory) -> None:
    _, _, donation, tags = await _devices(client, factory, 2)
    other = await factory.donor_user(await factory.donor())
    assert_problem(
        await client.post("/api/v1/labels", headers=other.headers, json={"donation_id": donation}),
        422,
    )
    assert_problem(
        await client.get(f"/api/v1/devices/{tags[0]}/label.png", headers=other.headers), 404
    )


def test_the_fast_bar_path_draws_exactly_the_encoders_bars() -> None:
    """The sheet renderer reuses per-symbol operators; they must be the encoder's bars."""
    from devicetrack.devices.tags import format_tags
    from devicetrack.labels import code128, render

    widths: dict[str, int] = {}
    for tag in format_tags("11", 1, 1500) + format_tags("79", 998_500, 1499):
        total, runs = code128.bars(tag)
        assert code128.pdf_bar_ops(tag) == (total, " ".join(f"{s} 0 {n} 1 re" for s, n in runs))
        # The width check relies on this: tags of one shape encode to the same width.
        assert widths.setdefault(render.tag_shape(tag), total) == total


def test_label_text_is_vietnamese_and_a_long_name_is_set_smaller_not_cut() -> None:
    import re as _re

    from reportlab.pdfbase.pdfmetrics import stringWidth

    from devicetrack.labels import render
    from devicetrack.labels.fonts import register_fonts
    from devicetrack.labels.templates import SIDE_MARGIN_MM

    regular, _ = register_fonts()
    room = render.SVG_LABEL.label_w - 2 * SIDE_MARGIN_MM
    short = render.label_svg(
        render.LabelData("DT11-000001-0", "Sở GD&ĐT Điện Biên", "UNICEF", "laptop")
    )
    assert "UNICEF · Máy tính xách tay" in short
    assert 'font-size="2.40">UNICEF' in short  # fits: the usual size
    donor = "Quỹ Hỗ trợ Giáo dục Vùng cao Tây Bắc và Các Tỉnh Miền Núi Phía Bắc"
    long = render.label_svg(
        render.LabelData("DT11-000001-0", "Sở GD&ĐT Điện Biên", donor, "tablet")
    )
    text = f"{donor} · Máy tính bảng"
    size = float(_re.search(r'font-size="([\d.]+)">' + _re.escape(donor), long).group(1))
    assert size < 2.4
    assert stringWidth(text, regular, size) <= room + 0.01


async def test_label_batches_count_their_bound_tags_without_spelling_them_out(
    client, factory
) -> None:
    """Listing batches counted the devices of each by spelling out every tag of every batch
    (a page of 100,000-tag batches: millions of strings on the event loop; the long fuzz
    run grew the server to 3.5 GB that way). A batch is a range of the tag index: the
    counts and the bound tags are the same as before."""
    officer = await factory.officer(DIEN_BIEN)
    batches = []
    for count in (5, 100_000, 5):
        made = await client.post(
            "/api/v1/label-batches",
            headers=officer.headers,
            json={"province_code": DIEN_BIEN, "count": count},
        )
        assert made.status_code == 201, made.text
        batches.append(made.json())
    first = (
        await client.get(f"/api/v1/label-batches/{batches[0]['id']}", headers=officer.headers)
    ).json()["tags"]
    last = (
        await client.get(f"/api/v1/label-batches/{batches[2]['id']}", headers=officer.headers)
    ).json()["tags"]
    donor = await factory.donor()
    donation = await client.post(
        "/api/v1/donations",
        headers=officer.headers,
        json={"donor_id": donor, "province_code": DIEN_BIEN, "reference": "PREPRINTED"},
    )
    csv = "asset_tag,kind\n" + "".join(f"{t},tablet\n" for t in (first[4], last[0], last[3]))
    registered = await client.post(
        f"/api/v1/donations/{donation.json()['id']}/devices",
        headers=officer.headers,
        files={"file": ("tags.csv", csv.encode(), "text/csv")},
    )
    assert registered.status_code == 201, registered.text

    listed = await client.get("/api/v1/label-batches", headers=officer.headers)
    assert listed.status_code == 200, listed.text
    counts = {b["id"]: (b["count"], b["bound"]) for b in listed.json()["items"]}
    assert [counts[b["id"]] for b in batches] == [(5, 1), (100_000, 0), (5, 2)]
    big = (
        await client.get(f"/api/v1/label-batches/{batches[1]['id']}", headers=officer.headers)
    ).json()
    assert (len(big["tags"]), big["bound"], big["bound_tags"]) == (100_000, 0, [])
    assert big["tags"][0] == batches[1]["first_tag"] and big["tags"][-1] == batches[1]["last_tag"]
    detail = (
        await client.get(f"/api/v1/label-batches/{batches[2]['id']}", headers=officer.headers)
    ).json()
    assert (detail["bound"], detail["bound_tags"]) == (2, sorted([last[0], last[3]]))

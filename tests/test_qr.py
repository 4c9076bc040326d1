"""The labels' fast QR symbols (labels/qr.py) are exactly segno's, and decode."""

from __future__ import annotations

import random

import segno
from PIL import Image

from devicetrack.devices.tags import format_tags
from devicetrack.labels import qr

BASE = "https://devicetrack.example.vn/d/"


def _segno_runs(link: str) -> list[tuple[int, int, int]]:
    """segno's own symbol for the link, with the version and mask the layout chose."""
    layout = qr._layouts[len(link)]
    code = segno.make_qr(
        link.encode(),
        error=qr.ERROR,
        version=layout.version,
        mode="byte",
        mask=layout.mask,
        boost_error=False,
    )
    return [
        (row, m.start(), m.end() - m.start())
        for row, line in enumerate(code.matrix)
        for m in qr._DARK.finditer(bytes(line))
    ]


def test_fast_symbols_are_segnos() -> None:
    links = [BASE + t for t in format_tags("11", 1, 300) + format_tags("79", 987_000, 300)]
    links += [BASE + t for t in format_tags("01", 400_000, 50)] + ["http://x/d/DT11-000001-8"]
    for link in random.Random(3).sample(links, len(links)):
        fast = qr.qr_modules(link)
        assert fast.runs == _segno_runs(link), link
        assert qr.pdf_symbol(link) == (fast.size, qr.pdf_ops(fast))
    # The layout's mask is the one segno chose for its first link, not a fixed one.
    layout = qr._layouts[len(links[0])]
    assert layout.mask == segno.make_qr(layout.data, error="m", mode="byte", boost_error=False).mask


def test_fast_symbols_decode() -> None:
    import zxingcpp

    for tag in format_tags("11", 123_456, 20):
        link = BASE + tag
        code = qr.qr_modules(link)
        cell, quiet = 4, 4
        side = (code.size + 2 * quiet) * cell
        image = Image.new("L", (side, side), 255)
        for row, x, w in code.runs:
            box = ((quiet + x) * cell, (quiet + row) * cell)
            image.paste(0, (*box, box[0] + w * cell, box[1] + cell))
        found = zxingcpp.read_barcodes(image)
        assert [r.text for r in found] == [link]


def test_non_ascii_link_falls_back_to_segno() -> None:
    link = "https://thiết-bị.example.vn/d/DT11-000001-8"
    assert qr.qr_modules(link).runs
    size, ops = qr.pdf_symbol(link)
    assert size >= 21 and ops.endswith("1 re")

"""The QR code a label and a printed record carry: a link any phone's camera app opens.

Made with segno (`make_qr`, error correction M, kept at M: a larger level would need a
larger symbol on a 38 × 21 mm label). The dark modules are handed out as horizontal runs,
one list per row, so a PDF draws each run as one rectangle (as the Code 128 bars are) and
an SVG or PNG likewise."""

from __future__ import annotations

import re
from dataclasses import dataclass

import segno

ERROR = "m"
_DARK = re.compile(rb"\x01+")


@dataclass(frozen=True)
class QrModules:
    size: int  # modules per side, quiet zone not included
    runs: list[tuple[int, int, int]]  # (row from the top, first module, width in modules)


def qr_modules(text: str) -> QrModules:
    code = segno.make_qr(text, error=ERROR, boost_error=False)
    runs = [
        (row, m.start(), m.end() - m.start())
        for row, line in enumerate(code.matrix)
        for m in _DARK.finditer(bytes(line))
    ]
    return QrModules(len(code.matrix), runs)


def pdf_ops(code: QrModules) -> str:
    """The dark runs as PDF path operators in module units, y up from the symbol's bottom."""
    top = code.size - 1
    return " ".join(f"{x} {top - row} {w} 1 re" for row, x, w in code.runs)


def svg_path(code: QrModules, x0: float, y0: float, module: float) -> str:
    """An SVG path (user units) of the dark runs, the symbol's top-left corner at (x0, y0)."""
    return "".join(
        f"M{x0 + x * module:.3f} {y0 + row * module:.3f}h{w * module:.3f}v{module:.3f}"
        f"h{-w * module:.3f}z"
        for row, x, w in code.runs
    )

"""The QR code a label and a printed record carry: a link any phone's camera app opens.

Made with segno (`make_qr`, byte mode, error correction M, kept at M: a larger level would
need a larger symbol on a 38 × 21 mm label). The dark modules are handed out as horizontal
runs, one list per row, so a PDF draws each run as one rectangle (as the Code 128 bars are)
and an SVG or PNG likewise.

A sheet's links differ only in a few characters of the tag, and segno spends ~85% of a
symbol's 2.7 ms choosing the best of eight masks in pure Python (260 labels/s). A QR symbol
of a fixed version, error level and mask is an affine function of its data bits: the
Reed–Solomon check bytes are linear over GF(2), the placement is a fixed permutation, and
the format information and the mask are constants. So the first link of each length is
made by segno, which also chooses its mask; each bit of the data then has a fixed pattern
of modules it flips, learnt once from segno (one symbol per bit that ever differs), and a
link is that first symbol with the patterns of its differing bits XORed in: the very
symbol segno makes for the link with that version and mask (tests/test_qr.py compares
them), in ~30 µs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import segno

ERROR = "m"
_DARK = re.compile(rb"\x01+")
_DARK_TEXT = re.compile(r"1+")
# Lengths of link whose base symbol is kept (a worker process sees one or two).
MAX_LAYOUTS = 16


@dataclass(frozen=True)
class QrModules:
    size: int  # modules per side, quiet zone not included
    runs: list[tuple[int, int, int]]  # (row from the top, first module, width in modules)


@dataclass
class _Layout:
    """The symbols of all links of one length in bytes: their version and mask, the first
    link's modules as one integer (row 0's first module the highest bit), and the modules
    each (byte position, XOR of that byte) flips."""

    data: bytes
    version: int
    mask: int
    size: int
    modules: int
    flips: dict[tuple[int, int], int] = field(default_factory=dict)

    def symbol(self, data: bytes) -> int:
        return _bits(
            segno.make_qr(
                data,
                error=ERROR,
                version=self.version,
                mode="byte",
                mask=self.mask,
                boost_error=False,
            ).matrix
        )

    def flip(self, position: int, delta: int) -> int:
        key = (position, delta)
        known = self.flips.get(key)
        if known is None:
            known = 0
            for bit in range(8):
                if delta >> bit & 1:
                    known ^= self._bit(position, 1 << bit)
            self.flips[key] = known
        return known

    def _bit(self, position: int, bit: int) -> int:
        key = (position, bit | 0x100)  # single bits kept apart from byte deltas
        known = self.flips.get(key)
        if known is None:
            changed = bytearray(self.data)
            changed[position] ^= bit
            known = self.flips[key] = self.symbol(bytes(changed)) ^ self.modules
        return known


_layouts: dict[int, _Layout] = {}


def _bits(matrix: tuple[bytearray, ...]) -> int:
    return int(b"".join(bytes(row) for row in matrix).translate(_TO_DIGITS), 2)


_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _layout(data: bytes) -> _Layout:
    layout = _layouts.get(len(data))
    if layout is None:
        best = segno.make_qr(data, error=ERROR, mode="byte", boost_error=False)
        version = best.version
        assert isinstance(version, int)  # a QR code (not Micro QR) has a numbered version
        layout = _Layout(data, version, best.mask, len(best.matrix), _bits(best.matrix))
        if len(_layouts) >= MAX_LAYOUTS:
            _layouts.clear()
        _layouts[len(data)] = layout
    return layout


def _symbol(text: str) -> tuple[int, int]:
    """The link's modules as one integer (see _Layout) and the symbol's size; for ASCII."""
    data = text.encode()
    layout = _layout(data)
    modules = layout.modules
    base = layout.data
    if data != base:
        for position, (a, b) in enumerate(zip(data, base, strict=True)):
            if a != b:
                modules ^= layout.flip(position, a ^ b)
    return modules, layout.size


def _segno_modules(text: str) -> QrModules:
    # Rare (a public URL with non-ASCII letters): segno chooses the encoding.
    code = segno.make_qr(text, error=ERROR, boost_error=False)
    runs = [
        (row, m.start(), m.end() - m.start())
        for row, line in enumerate(code.matrix)
        for m in _DARK.finditer(bytes(line))
    ]
    return QrModules(len(code.matrix), runs)


def qr_modules(text: str) -> QrModules:
    if not text.isascii():
        return _segno_modules(text)
    modules, size = _symbol(text)
    digits = format(modules, f"0{size * size}b")
    runs = [
        (row, m.start() - start, m.end() - m.start())
        for row, start in enumerate(range(0, size * size, size))
        for m in _DARK_TEXT.finditer(digits, start, start + size)
    ]
    return QrModules(size, runs)


# A row's PDF operators by (size, row, the row's modules): a sheet's symbols share most
# rows (the finder patterns, the timing lines, the bytes that do not change).
_row_ops: dict[tuple[int, int, int], str] = {}
MAX_ROWS_KEPT = 100_000


def pdf_symbol(text: str) -> tuple[int, str]:
    """The link's QR as its size in modules and pdf_ops' operators: the same, made a row
    at a time from rows already seen (a label sheet's hot path)."""
    if not text.isascii():
        code = _segno_modules(text)
        return code.size, pdf_ops(code)
    modules, size = _symbol(text)
    mask = (1 << size) - 1
    top = size - 1
    parts: list[str] = []
    for row in range(size):
        bits = modules >> ((top - row) * size) & mask
        key = (size, row, bits)
        ops = _row_ops.get(key)
        if ops is None:
            if len(_row_ops) >= MAX_ROWS_KEPT:
                _row_ops.clear()
            digits = format(bits, f"0{size}b")
            ops = _row_ops[key] = " ".join(
                f"{m.start()} {top - row} {m.end() - m.start()} 1 re"
                for m in _DARK_TEXT.finditer(digits)
            )
        if ops:
            parts.append(ops)
    return size, " ".join(parts)


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

"""Code 128 bar patterns from python-barcode's encoder, as runs of bars to draw."""

from __future__ import annotations

import re

import barcode

QUIET_MODULES = 10  # Code 128 needs a quiet zone of at least 10 modules on each side


def modules(tag: str) -> str:
    """The module string ('1' = bar) for a tag, without quiet zones."""
    return str(barcode.Code128(tag).build()[0])


_BARS = re.compile("1+")


def _runs(pattern: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end() - m.start()) for m in _BARS.finditer(pattern)]


def bars(tag: str) -> tuple[int, list[tuple[int, int]]]:
    """(total modules including quiet zones, [(first module, width in modules), …]):
    adjacent dark modules merged into one bar, offsets include the left quiet zone."""
    pattern = modules(tag)
    return (
        len(pattern) + 2 * QUIET_MODULES,
        [(QUIET_MODULES + start, width) for start, width in _runs(pattern)],
    )

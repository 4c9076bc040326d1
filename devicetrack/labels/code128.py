"""Code 128 bar patterns from python-barcode's encoder, as runs of bars to draw."""

from __future__ import annotations

import re
from functools import lru_cache

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


SYMBOL = 11  # every Code 128 symbol is 11 modules wide; the stop pattern is 13
STOP = 13


@lru_cache(maxsize=8192)
def _symbol_ops(chunk: str, offset: int) -> str:
    """PDF path operators (`x 0 w 1 re`) for one symbol's bars at a module offset.

    A symbol always starts with a bar and ends with a space, so no bar runs across two
    symbols, and the few hundred (symbol, position) pairs a tag length allows repeat on
    every label: formatting each bar once per pair instead of once per label is most of
    what separates a sheet of labels from the bare encoder."""
    return " ".join(
        f"{offset + m.start()} 0 {m.end() - m.start()} 1 re" for m in _BARS.finditer(chunk)
    )


def pdf_bar_ops(tag: str) -> tuple[int, str]:
    """(total modules including quiet zones, the bars as PDF path operators in module
    units, offsets including the left quiet zone): the same bars as `bars`, ready to fill."""
    pattern = modules(tag)
    end = len(pattern) - STOP
    ops = [_symbol_ops(pattern[i : i + SYMBOL], QUIET_MODULES + i) for i in range(0, end, SYMBOL)]
    ops.append(_symbol_ops(pattern[end:], QUIET_MODULES + end))
    return len(pattern) + 2 * QUIET_MODULES, " ".join(ops)

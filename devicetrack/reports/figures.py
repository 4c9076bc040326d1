"""The §5 ratios, computed the same way for a school and for any roll-up."""

from __future__ import annotations


def pct(numerator: int, denominator: int) -> float | None:
    """100 × n / d rounded to one decimal; None when the denominator is 0."""
    if denominator <= 0:
        return None
    return round(100.0 * numerator / denominator, 1)

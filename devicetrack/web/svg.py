"""Bar charts drawn as inline SVG by the server: no chart library, no JavaScript, and
they print. Values are escaped by Jinja's autoescape via Markup only for numbers we make."""

from __future__ import annotations

from html import escape

from markupsafe import Markup


def bar_chart(
    rows: list[tuple[str, float | None]],
    *,
    maximum: float = 100.0,
    unit: str = "%",
    title: str = "",
    width: int = 320,
) -> Markup:
    """Horizontal bars, one per (label, value); None draws an empty bar marked "–"."""
    bar_h, gap, label_w = 18, 6, 120
    height = len(rows) * (bar_h + gap) + gap
    span = width - label_w - 48
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        shown = 0.0 if value is None else max(0.0, min(value, maximum))
        length = span * shown / maximum if maximum else 0
        text = "–" if value is None else f"{value:.0f}{unit}"
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(
            f'<text x="0" y="{y + 13}" class="chart-label">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{span}" height="{bar_h}" class="chart-track"/>'
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" '
            f'class="chart-bar"/>'
            f'<text x="{label_w + span + 4}" y="{y + 13}" class="chart-value">{text}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))

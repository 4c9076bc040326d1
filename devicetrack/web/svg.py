"""Bar charts drawn as inline SVG by the server: no chart library, no JavaScript, and
they print. Every text is escaped here (the chart reaches Jinja as Markup).

A bar's label is written whole above its bar, wrapped over up to three lines, and is a link
when the bar has one: names cut to "Trường PTDTBT TH&…" told a reader nothing, and a
chart of schools is where one looks for the school to open."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import NamedTuple

from markupsafe import Markup


class Bar(NamedTuple):
    label: str
    value: float | None  # None draws an empty bar marked "–"
    href: str | None = None


class Heading(NamedTuple):
    """A line of text between bars that names the group below it ("Lowest coverage")."""

    text: str


# Characters of a label per line at the chart's width and type size (11 units of 320), and
# the most lines a label takes; longer ones end in "…", with the whole name as the tooltip.
LINE_CHARS = 46
MAX_LINES = 3
LINE_H, BAR_H, GAP = 13, 14, 8


def wrap(label: str, width: int = LINE_CHARS, lines: int = MAX_LINES) -> list[str]:
    """The label in lines of at most `width` characters, broken between words (a word
    longer than a line is cut); the last line ends in "…" when the label does not fit."""
    out: list[str] = []
    line = ""
    for word in label.split():
        while len(word) > width:
            if line:
                out.append(line)
                line = ""
            out.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            out.append(line)
            line = word
    if line or not out:
        out.append(line)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return out


def bar_chart(
    rows: Sequence[Bar | Heading | tuple[str, float | None]],
    *,
    maximum: float = 100.0,
    unit: str = "%",
    title: str = "",
    width: int = 320,
) -> Markup:
    """Horizontal bars, each under its label; a row may be a Bar, a Heading, or a
    (label, value) pair."""
    value_w = 48
    span = width - value_w
    parts: list[str] = []
    y = GAP
    linked = False
    for row in rows:
        if isinstance(row, Heading):
            parts.append(
                f'<text x="0" y="{y + LINE_H - 2}" class="chart-heading">{escape(row.text)}</text>'
            )
            y += LINE_H + 4
            continue
        bar = row if isinstance(row, Bar) else Bar(row[0], row[1])
        shown = 0.0 if bar.value is None else max(0.0, min(bar.value, maximum))
        length = span * shown / maximum if maximum else 0
        text = "–" if bar.value is None else f"{bar.value:.0f}{unit}"
        lines = wrap(bar.label)
        tspans = "".join(
            f'<tspan x="0" y="{y + LINE_H * (i + 1) - 3}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        label = f'<text class="chart-label">{tspans}</text>'
        tooltip = f"<title>{escape(bar.label)}: {escape(text)}</title>"
        if bar.href:
            linked = True
            label = f'<a href="{escape(bar.href)}" class="chart-link">{tooltip}{label}</a>'
        else:
            label = f"<g>{tooltip}{label}</g>"
        top = y + LINE_H * len(lines)
        parts.append(
            label + f'<rect x="0" y="{top}" width="{span}" height="{BAR_H}" class="chart-track"/>'
            f'<rect x="0" y="{top}" width="{length:.1f}" height="{BAR_H}" class="chart-bar"/>'
            f'<text x="{span + 4}" y="{top + BAR_H - 3}" class="chart-value">{text}</text>'
        )
        y = top + BAR_H + GAP
    # Links stay reachable by keyboard and screen reader: role="img" would hide them.
    role = "group" if linked else "img"
    head = (
        f'<svg class="chart" role="{role}" viewBox="0 0 {width} {y}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(parts) + "</svg>")

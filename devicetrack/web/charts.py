"""What the coverage charts show: which rows, in which order, named and linked. The
drawing is svg.bar_chart's; the templates call these (they are Jinja globals).

The commune chart once took the first 15 communes by gap: 15 communes at 0% were drawn and
the one commune with devices was left out. Now every row with a figure is drawn, sorted,
or, when there are too many for a phone, the lowest and the highest under their headings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from devicetrack.reports.schemas import CoverageRow, GapItem
from devicetrack.web.svg import Bar, Heading

# Bars a chart draws whole; beyond that, this many from each end.
ALL_UP_TO = 16
EACH_END = 8
LARGEST_GAPS = 10


def school_link(row: CoverageRow | GapItem) -> str:
    return f"/schools/{row.school_id}"


def gap_bars(rows: Sequence[GapItem], limit: int = LARGEST_GAPS) -> list[Bar]:
    """The schools of a gap report furthest below the target once the devices on their way
    arrive, largest first: a school just allocated what it needs drops out instead of
    inviting a second allocation."""
    short = [r for r in rows if r.gap_after_incoming > 0]
    short.sort(key=lambda r: (-r.gap_after_incoming, r.school_name or ""))
    return [
        Bar(r.school_name or "", float(r.gap_after_incoming), school_link(r)) for r in short[:limit]
    ]


def coverage_bars(
    rows: Sequence[CoverageRow],
    name: Callable[[CoverageRow], str],
    link: Callable[[CoverageRow], str],
    lowest: str,
    highest: str,
) -> list[Bar | Heading]:
    """Coverage of each row that has enrolment, lowest first; with more rows than fit, the
    lowest and the highest under the headings `lowest` and `highest` (the highest from
    the top). Rows without enrolment have no coverage and are counted by the page."""
    measured = [r for r in rows if r.coverage_pct is not None]
    measured.sort(key=lambda r: (r.coverage_pct or 0.0, name(r)))

    def bars(part: Sequence[CoverageRow]) -> list[Bar | Heading]:
        return [Bar(name(r), r.coverage_pct, link(r)) for r in part]

    if len(measured) <= ALL_UP_TO:
        return bars(measured)
    return [
        Heading(lowest),
        *bars(measured[:EACH_END]),
        Heading(highest),
        *bars(measured[::-1][:EACH_END]),
    ]


def without_enrolment(rows: Sequence[CoverageRow]) -> int:
    return sum(1 for r in rows if r.coverage_pct is None)


def school_coverage_bars(
    rows: Sequence[CoverageRow], lowest: str, highest: str
) -> list[Bar | Heading]:
    return coverage_bars(rows, lambda r: r.school_name or "", school_link, lowest, highest)


def commune_coverage_bars(
    rows: Sequence[CoverageRow], query: str, lowest: str, highest: str
) -> list[Bar | Heading]:
    """`query` is what a commune's link carries (an admin's `?province=`)."""
    return coverage_bars(
        rows,
        lambda r: r.commune_name or r.commune_code or "",
        lambda r: f"/province/communes/{r.commune_code}{query}",
        lowest,
        highest,
    )

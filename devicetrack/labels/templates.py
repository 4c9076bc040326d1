"""Label stock: page size and where each label sits, in millimetres."""

from __future__ import annotations

from dataclasses import dataclass

from devicetrack.i18n import N_
from devicetrack.labels.values import TemplateName

# Scanners read Code 128 reliably down to about 0.19 mm per module (7.5 mil) when printed
# on a laser printer; below that a label is refused rather than printed unreadable.
MIN_MODULE_MM = 0.19
SIDE_MARGIN_MM = 1.0


@dataclass(frozen=True)
class Template:
    name: str
    title: str  # what the stock is called where it is bought (a message id: translated)
    page_w: float
    page_h: float
    cols: int
    rows: int
    label_w: float
    label_h: float
    left: float
    top: float
    pitch_x: float
    pitch_y: float

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    def origin(self, position: int) -> tuple[float, float]:
        """Bottom-left corner (mm, PDF coordinates from the page's bottom) of a position,
        counted row by row from the top-left label."""
        row, col = divmod(position, self.cols)
        x = self.left + col * self.pitch_x
        y = self.page_h - self.top - row * self.pitch_y - self.label_h
        return x, y

    def module_mm(self, total_modules: int) -> float:
        return (self.label_w - 2 * SIDE_MARGIN_MM) / total_modules


TEMPLATES = {
    t.name: t
    for t in (
        # Avery L7651: A4, 5 × 13 labels of 38.1 × 21.2 mm, 40.64 mm column pitch.
        Template(
            TemplateName.AVERY_L7651,
            N_("Avery L7651 — 65 labels per A4 sheet (38 × 21 mm)"),
            210,
            297,
            5,
            13,
            38.1,
            21.2,
            4.67,
            10.7,
            40.64,
            21.2,
        ),
        # A4, 3 × 8 labels of 70 × 37 mm, edge to edge.
        Template(
            TemplateName.A4_3X8,
            N_("A4 — 24 labels per sheet (70 × 37 mm)"),
            210,
            297,
            3,
            8,
            70,
            37,
            0,
            0.5,
            70,
            37,
        ),
        # A thermal printer roll: one 50 × 25 mm label per page.
        Template(
            TemplateName.THERMAL_50X25,
            N_("Thermal printer roll — one 50 × 25 mm label at a time"),
            50,
            25,
            1,
            1,
            50,
            25,
            0,
            0,
            50,
            25,
        ),
    )
}

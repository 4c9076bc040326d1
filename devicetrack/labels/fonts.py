"""The font printed on labels and PDFs: DejaVu Sans (regular and bold), shipped with the
project in labels/fonts/ because it covers every Vietnamese letter (ở, ệ, Đ…). DejaVu
fonts may be used, embedded and redistributed freely: labels/fonts/LICENSE-DejaVu.txt."""

from __future__ import annotations

from functools import cache
from pathlib import Path

FONT_DIR = Path(__file__).parent / "fonts"
FONT_PATH = FONT_DIR / "DejaVuSans.ttf"
BOLD_PATH = FONT_DIR / "DejaVuSans-Bold.ttf"
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"


@cache
def register_fonts() -> tuple[str, str]:
    """Register the TTFs with reportlab once; return the (regular, bold) names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(REGULAR, str(FONT_PATH)))
    pdfmetrics.registerFont(TTFont(BOLD, str(BOLD_PATH)))
    return REGULAR, BOLD

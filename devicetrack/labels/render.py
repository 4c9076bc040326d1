"""Rendering labels: one label as SVG or PNG, and sheets as PDF with vector bars.

A label shows the Code 128 barcode of the asset tag (with quiet zones), the tag in text,
the owning programme (e.g. "Sở GD&ĐT Điện Biên"), the donor's short name and the kind."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol
from xml.sax.saxutils import escape

from devicetrack.i18n import N_, Message
from devicetrack.labels import code128
from devicetrack.labels.fonts import BOLD_PATH, FONT_PATH, register_fonts
from devicetrack.labels.pdfstream import PageStream
from devicetrack.labels.templates import MIN_MODULE_MM, SIDE_MARGIN_MM, TEMPLATES, Template

MM = 72 / 25.4  # PDF points per millimetre
_DIGITS = re.compile(r"\d")
_TEXT_SIZES = {
    "avery-l7651": (4.6, 6.4, 4.2),
    "a4-3x8": (7, 10, 6.5),
    "thermal-50x25": (6, 8.5, 5.5),
}


@dataclass(frozen=True)
class LabelData:
    tag: str
    programme: str
    donor: str
    kind: str


class LabelError(ValueError):
    field = "template"


class UnknownTemplate(LabelError):
    field = "template"


class BadSheetOption(LabelError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class LabelDoesNotFit(LabelError):
    field = "template"


def template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownTemplate(
            Message(
                N_("Unknown template {name!r}; use one of {choices}."),
                name=name,
                choices=", ".join(sorted(TEMPLATES)),
            )
        ) from None


def check_sheet_options(name: str, skip: int, copies: int) -> Template:
    t = template(name)
    if not 0 <= skip < t.per_page:
        raise BadSheetOption(
            "skip",
            Message(
                N_("skip must be 0 to {last} on {template}."), last=t.per_page - 1, template=t.name
            ),
        )
    if not 1 <= copies <= 100:
        raise BadSheetOption("copies", N_("copies must be 1 to 100."))
    return t


def tag_shape(tag: str) -> str:
    """The tag with every digit as 0: tags of one shape print equally wide."""
    return _DIGITS.sub("0", tag)


def module_width(t: Template, total_modules: int) -> float:
    width = t.module_mm(total_modules)
    if width < MIN_MODULE_MM:
        raise LabelDoesNotFit(
            Message(
                N_(
                    "The tag's barcode needs {modules} modules; at {label_mm} mm wide, "
                    "{template} would print {width:.3f} mm modules, below the {min_mm} mm "
                    "scanners read. Use a wider template."
                ),
                modules=total_modules,
                label_mm=t.label_w,
                template=t.name,
                width=width,
                min_mm=MIN_MODULE_MM,
            )
        )
    return width


# Labels are read at Vietnamese schools, beside the programme's Vietnamese name.
KIND_ON_LABEL = {
    "laptop": "Máy tính xách tay",
    "desktop": "Máy tính để bàn",
    "tablet": "Máy tính bảng",
    "smartphone": "Điện thoại",
    "sim": "SIM",
    "router": "Bộ phát Wi-Fi",
    "other": "Thiết bị khác",
}


def _footer(data: LabelData) -> str:
    kind = KIND_ON_LABEL.get(data.kind, data.kind)
    return " · ".join(part for part in (data.donor, kind) if part)


def fitted_size(text: str, font: str, size: float, width: float) -> float:
    """The font size at which `text` fits `width` (same units as `size`), never larger than
    `size`: a long donor or programme name is set smaller rather than cut by the label's
    edge."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    natural = stringWidth(text, font, size)
    return size if natural <= width else size * width / natural


def _svg_text(text: str, x: float, y: float, size: float, width: float, bold: bool = False) -> str:
    regular, heavy = register_fonts()
    # Written with two decimals, rounded down so the text still fits.
    fitted = int(fitted_size(text, heavy if bold else regular, size, width) * 100) / 100
    weight = ' font-weight="bold"' if bold else ""
    return f'<text x="{x}" y="{y}" font-size="{fitted:.2f}"{weight}>{escape(text)}</text>'


# --- one label: SVG -------------------------------------------------------------------

SVG_LABEL = TEMPLATES["thermal-50x25"]


def label_svg(data: LabelData) -> str:
    """A 50 × 25 mm label as SVG (millimetre user units), bars as merged rectangles."""
    t = SVG_LABEL
    total, runs = code128.bars(data.tag)
    x0, width = SIDE_MARGIN_MM, module_width(t, total)
    bar_top, bar_h = 5.2, t.label_h * 0.5
    rects = "".join(
        f'<rect x="{x0 + start * width:.3f}" y="{bar_top}" width="{w * width:.3f}" '
        f'height="{bar_h:.2f}"/>'
        for start, w in runs
    )
    mid = t.label_w / 2
    room = t.label_w - 2 * SIDE_MARGIN_MM
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{t.label_w}mm" height="{t.label_h}mm" '
        f'viewBox="0 0 {t.label_w} {t.label_h}">'
        f'<rect width="{t.label_w}" height="{t.label_h}" fill="#fff"/>'
        '<g font-family="DejaVu Sans, Arial, sans-serif" text-anchor="middle">'
        + _svg_text(data.programme, mid, 3.6, 2.6, room)
        + f'<g fill="#000">{rects}</g>'
        f'<text x="{mid}" y="{bar_top + bar_h + 3.6}" font-size="3.4" '
        f'font-weight="bold">{escape(data.tag)}</text>'
        + _svg_text(_footer(data), mid, t.label_h - 1.2, 2.4, room)
        + "</g></svg>"
    )


# --- one label: PNG -------------------------------------------------------------------


def label_png(data: LabelData, dpi: int = 300) -> bytes:
    """A 50 × 25 mm label as PNG. Every module is a whole number of pixels, so the bars
    stay crisp and decodable at any dpi."""
    from PIL import Image, ImageDraw, ImageFont

    t = SVG_LABEL
    px_per_mm = dpi / 25.4
    total, runs = code128.bars(data.tag)
    module_px = max(2, int((t.label_w - 2 * SIDE_MARGIN_MM) * px_per_mm // total))
    width_px = round(t.label_w * px_per_mm)
    height_px = round(t.label_h * px_per_mm)
    image = Image.new("L", (max(width_px, total * module_px + 4), height_px), 255)
    draw = ImageDraw.Draw(image)
    x0 = (image.width - total * module_px) // 2
    top, bar_h = round(5.2 * px_per_mm), round(t.label_h * 0.5 * px_per_mm)
    for start, w in runs:
        draw.rectangle(
            [x0 + start * module_px, top, x0 + (start + w) * module_px - 1, top + bar_h], fill=0
        )

    def text(y_mm: float, value: str, size_mm: float, bold: bool = False) -> None:
        path = BOLD_PATH if bold else FONT_PATH
        font = ImageFont.truetype(str(path), max(8, round(size_mm * px_per_mm)))
        draw.text((image.width / 2, y_mm * px_per_mm), value, fill=0, font=font, anchor="ms")

    text(3.6, data.programme, 2.6)
    text(5.2 + t.label_h * 0.5 + 3.6, data.tag, 3.4, bold=True)
    text(t.label_h - 1.2, _footer(data), 2.4)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


# --- sheets: PDF ----------------------------------------------------------------------


class _CanvasInternals(Protocol):
    """The parts of reportlab's Canvas that sheet_pdf writes directly (its stubs declare
    only the public API): the page's operator list, the forms the page uses, the document."""

    _code: list[str]
    _formsinuse: list[str]
    _doc: Any


def sheet_pdf(
    labels: Iterable[LabelData], template_name: str, skip: int, copies: int, out: BinaryIO
) -> int:
    """Write a PDF of labels on the template's stock; return the number of labels.

    Pages are written as they fill (pdfstream.PageStream), so memory stays flat however
    many labels there are. Bars are vector rectangles written as raw path operators (one
    `re` per merged bar and a single fill per label), which is what keeps 10,000 labels
    fast; text uses the embedded TTF so Vietnamese keeps its diacritics and can be
    extracted."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    t = check_sheet_options(template_name, skip, copies)
    regular, bold = register_fonts()
    doc = PageStream(out, t.page_w * MM, t.page_h * MM, "devicetrack labels")
    small, big, foot = _TEXT_SIZES.get(t.name, (5, 7, 4.5))
    w, h = t.label_w * MM, t.label_h * MM
    room = w - 2 * SIDE_MARGIN_MM * MM
    forms: dict[tuple[str, str], str] = {}
    widths: dict[str, float] = {}
    page: list[str] = []
    position, count = skip, 0

    def centred(font: str, size: float, y: float, text: str) -> str:
        size = fitted_size(text, font, size, room)
        return doc.text(font, size, (w - stringWidth(text, font, size)) / 2, y, text)

    def form_for(data: LabelData) -> str:
        """The programme and donor · kind lines repeat across a sheet: draw them once as a
        form and place it on every label that shares them."""
        key = (data.programme, _footer(data))
        if key not in forms:
            ops = [centred(regular, small, h - small - 1.2, data.programme)]
            if key[1]:
                ops.append(centred(regular, foot, 1.5, key[1]))
            forms[key] = doc.form(w, h, "\n".join(ops))
        return forms[key]

    for data in labels:
        # One transform scales module units to points, so each bar is four integers.
        total, bar_ops = code128.pdf_bar_ops(data.tag)
        module = module_width(t, total) * MM
        form = form_for(data)
        shape = tag_shape(data.tag)  # every digit is as wide as "0"
        if shape not in widths:
            widths[shape] = stringWidth(data.tag, bold, big)
        for _ in range(copies):
            if position == t.per_page:
                doc.add_page(page)
                page, position = [], 0
            x, y = t.origin(position)
            x, y = x * MM, y * MM
            bar_y = y + h * 0.33
            left = x + SIDE_MARGIN_MM * MM
            page.append(
                f"q {module:.4f} 0 0 {h * 0.42:.2f} {left:.2f} {bar_y:.2f} cm 0 g {bar_ops} f Q"
            )
            page.append(f"q 1 0 0 1 {x:.2f} {y:.2f} cm /{form} Do Q")
            page.append(
                doc.text(bold, big, x + (w - widths[shape]) / 2, y + h * 0.33 - big, data.tag)
            )
            position += 1
            count += 1
    doc.add_page(page)
    doc.close()
    return count


def sheet_pdf_file(
    path: str, labels: Iterable[LabelData], template_name: str, skip: int, copies: int
) -> int:
    """sheet_pdf into the file `path` (what a worker process runs)."""
    with open(path, "wb") as out:
        return sheet_pdf(labels, template_name, skip, copies, out)

"""Rendering labels: one label as SVG or PNG, and sheets as PDF with vector bars.

A label shows the Code 128 barcode of the asset tag (with quiet zones) across its width,
for USB scanners; under it, a QR code of the device's link (`/d/{tag}`) in the corner, for
a phone's own camera app, beside the tag in text; the owning programme (e.g. "Sở GD&ĐT Điện
Biên") above the bars, and the donor's short name and the kind under the tag."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol
from xml.sax.saxutils import escape

from devicetrack.i18n import N_, Message
from devicetrack.labels import code128, qr
from devicetrack.labels.fonts import BOLD_PATH, FONT_PATH, register_fonts
from devicetrack.labels.pdfstream import PageStream
from devicetrack.labels.templates import MIN_MODULE_MM, SIDE_MARGIN_MM, TEMPLATES, Template

MM = 72 / 25.4  # PDF points per millimetre
PT = 25.4 / 72  # millimetres per point
_DIGITS = re.compile(r"\d")
_TEXT_SIZES = {
    "avery-l7651": (4.6, 6.4, 4.2),
    "a4-3x8": (7, 10, 6.5),
    "thermal-50x25": (6, 8.5, 5.5),
}


# How tall the bars are on each stock (mm): the rest of the height goes to the QR below.
_BAR_HEIGHTS = {"avery-l7651": 5.6, "a4-3x8": 11.0, "thermal-50x25": 6.5}


@dataclass(frozen=True)
class LabelData:
    tag: str
    programme: str
    donor: str
    kind: str
    # What the QR holds (common.links.device_link); no QR when empty.
    link: str = ""


@dataclass(frozen=True)
class Layout:
    """Where things sit on one label, in mm from its bottom-left corner (PDF's way up)."""

    programme_y: float  # baselines
    tag_y: float
    footer_y: float
    bar_y: float  # the bars' bottom edge and height; they span the label's width
    bar_h: float
    qr_x: float  # the QR's dark area, a square in the bottom-right corner
    qr_y: float
    qr_side: float
    text_x: float  # the column left of the QR, where the tag and footer are centred
    text_w: float


def layout(t: Template, programme_mm: float, tag_mm: float) -> Layout:
    """Bars across the top under the programme line; the QR fills the height left below
    them in the right corner, with about two modules of white around it (the label's
    edge, the gap under the bars); the tag and the footer in the column beside it."""
    top_pad, bottom_pad, gap = 0.7, 0.8, 0.8
    programme_y = t.label_h - top_pad - programme_mm * 0.76  # DejaVu's capital height
    bar_h = _BAR_HEIGHTS.get(t.name, t.label_h * 0.3)
    bar_y = programme_y - programme_mm * 0.3 - 0.4 - bar_h  # under its descenders
    qr_side = bar_y - gap - bottom_pad
    qr_x = t.label_w - SIDE_MARGIN_MM - qr_side
    text_w = qr_x - 1.0 - SIDE_MARGIN_MM
    return Layout(
        programme_y=programme_y,
        tag_y=bar_y - gap - tag_mm * 0.76,
        footer_y=bottom_pad + 0.3,
        bar_y=bar_y,
        bar_h=bar_h,
        qr_x=qr_x,
        qr_y=bottom_pad,
        qr_side=qr_side,
        text_x=SIDE_MARGIN_MM,
        text_w=text_w,
    )


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
# Text sizes of the single label, in mm: programme, tag, footer.
_SVG_SIZES = (2.6, 3.4, 2.4)


def label_svg(data: LabelData) -> str:
    """A 50 × 25 mm label as SVG (millimetre user units), bars as merged rectangles and
    the QR as one path."""
    t = SVG_LABEL
    small, big, foot = _SVG_SIZES
    at = layout(t, small, big)
    total, runs = code128.bars(data.tag)
    x0, width = SIDE_MARGIN_MM, module_width(t, total)
    bar_top = t.label_h - at.bar_y - at.bar_h  # SVG's y runs down
    rects = "".join(
        f'<rect x="{x0 + start * width:.3f}" y="{bar_top:.3f}" width="{w * width:.3f}" '
        f'height="{at.bar_h:.2f}"/>'
        for start, w in runs
    )
    code = ""
    if data.link:
        modules = qr.qr_modules(data.link)
        side = at.qr_side / modules.size
        path = qr.svg_path(modules, at.qr_x, t.label_h - at.qr_y - at.qr_side, side)
        code = f'<path fill="#000" d="{path}"/>'
    mid, column = t.label_w / 2, at.text_x + at.text_w / 2
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{t.label_w}mm" height="{t.label_h}mm" '
        f'viewBox="0 0 {t.label_w} {t.label_h}">'
        f'<rect width="{t.label_w}" height="{t.label_h}" fill="#fff"/>'
        '<g font-family="DejaVu Sans, Arial, sans-serif" text-anchor="middle">'
        + _svg_text(data.programme, mid, t.label_h - at.programme_y, small, t.label_w - 2)
        + f'<g fill="#000">{rects}</g>{code}'
        + _svg_text(data.tag, column, t.label_h - at.tag_y, big, at.text_w, bold=True)
        + _svg_text(_footer(data), column, t.label_h - at.footer_y, foot, at.text_w)
        + "</g></svg>"
    )


# --- one label: PNG -------------------------------------------------------------------


def label_png(data: LabelData, dpi: int = 300) -> bytes:
    """A 50 × 25 mm label as PNG. Every module of both codes is a whole number of
    pixels, so they stay crisp and decodable at any dpi."""
    from PIL import Image, ImageDraw, ImageFont

    t = SVG_LABEL
    small, big, foot = _SVG_SIZES
    at = layout(t, small, big)
    px_per_mm = dpi / 25.4
    total, runs = code128.bars(data.tag)
    module_px = max(2, int((t.label_w - 2 * SIDE_MARGIN_MM) * px_per_mm // total))
    width_px = round(t.label_w * px_per_mm)
    height_px = round(t.label_h * px_per_mm)
    image = Image.new("L", (max(width_px, total * module_px + 4), height_px), 255)
    draw = ImageDraw.Draw(image)
    x0 = (image.width - total * module_px) // 2
    top = round((t.label_h - at.bar_y - at.bar_h) * px_per_mm)
    bar_h = round(at.bar_h * px_per_mm)
    for start, w in runs:
        draw.rectangle(
            [x0 + start * module_px, top, x0 + (start + w) * module_px - 1, top + bar_h], fill=0
        )
    if data.link:
        modules = qr.qr_modules(data.link)
        cell = max(2, int(at.qr_side * px_per_mm // modules.size))
        right = image.width - round(SIDE_MARGIN_MM * px_per_mm)
        qx = right - cell * modules.size
        qy = height_px - round(at.qr_y * px_per_mm) - cell * modules.size
        for row, x, w in modules.runs:
            draw.rectangle(
                [
                    qx + x * cell,
                    qy + row * cell,
                    qx + (x + w) * cell - 1,
                    qy + (row + 1) * cell - 1,
                ],
                fill=0,
            )

    def text(
        x_mm: float, y_mm: float, value: str, size_mm: float, room: float, bold: bool = False
    ) -> None:
        path = BOLD_PATH if bold else FONT_PATH
        regular, heavy = register_fonts()
        size_mm = fitted_size(value, heavy if bold else regular, size_mm, room)
        font = ImageFont.truetype(str(path), max(8, round(size_mm * px_per_mm)))
        draw.text(
            (x_mm * px_per_mm, (t.label_h - y_mm) * px_per_mm),
            value,
            fill=0,
            font=font,
            anchor="ms",
        )

    column = at.text_x + at.text_w / 2
    text(t.label_w / 2, at.programme_y, data.programme, small, t.label_w - 2)
    text(column, at.tag_y, data.tag, big, at.text_w, bold=True)
    text(column, at.footer_y, _footer(data), foot, at.text_w)
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
    at = layout(t, small * PT, big * PT)
    w, h = t.label_w * MM, t.label_h * MM
    room = w - 2 * SIDE_MARGIN_MM * MM
    column_x, column_w = at.text_x * MM, at.text_w * MM
    forms: dict[tuple[str, str], str] = {}
    widths: dict[str, float] = {}
    page: list[str] = []
    position, count = skip, 0

    def centred(font: str, size: float, x: float, width: float, y: float, text: str) -> str:
        size = fitted_size(text, font, size, width)
        return doc.text(font, size, x + (width - stringWidth(text, font, size)) / 2, y, text)

    def form_for(data: LabelData) -> str:
        """The programme and donor · kind lines repeat across a sheet: draw them once as a
        form and place it on every label that shares them."""
        key = (data.programme, _footer(data))
        if key not in forms:
            ops = [centred(regular, small, SIDE_MARGIN_MM * MM, room, at.programme_y * MM, key[0])]
            if key[1]:
                ops.append(centred(regular, foot, column_x, column_w, at.footer_y * MM, key[1]))
            forms[key] = doc.form(w, h, "\n".join(ops))
        return forms[key]

    for data in labels:
        # One transform scales module units to points, so each bar is four integers.
        total, bar_ops = code128.pdf_bar_ops(data.tag)
        module = module_width(t, total) * MM
        form = form_for(data)
        shape = tag_shape(data.tag)  # every digit is as wide as "0"
        if shape not in widths:
            size = fitted_size(data.tag, bold, big, column_w)
            widths[shape] = size
        tag_size = widths[shape]
        tag_x = column_x + (column_w - stringWidth(data.tag, bold, tag_size)) / 2
        code = ""
        if data.link:
            size, ops = qr.pdf_symbol(data.link)  # once per label, whatever the copies
            cell = at.qr_side * MM / size
            code = f"q {cell:.4f} 0 0 {cell:.4f} {{x}} {{y}} cm 0 g {ops} f Q"
        for _ in range(copies):
            if position == t.per_page:
                doc.add_page(page)
                page, position = [], 0
            x, y = t.origin(position)
            x, y = x * MM, y * MM
            left = x + SIDE_MARGIN_MM * MM
            page.append(
                f"q {module:.4f} 0 0 {at.bar_h * MM:.2f} {left:.2f} {y + at.bar_y * MM:.2f} cm "
                f"0 g {bar_ops} f Q"
            )
            if code:
                page.append(code.format(x=f"{x + at.qr_x * MM:.2f}", y=f"{y + at.qr_y * MM:.2f}"))
            page.append(f"q 1 0 0 1 {x:.2f} {y:.2f} cm /{form} Do Q")
            page.append(doc.text(bold, tag_size, x + tag_x, y + at.tag_y * MM, data.tag))
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

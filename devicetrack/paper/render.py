"""Drawing a record (paper/document.py) as an A4 PDF with reportlab's page layout (platypus:
paragraphs that wrap, tables that run over pages with their header repeated), in the
bundled DejaVu Sans, which has every Vietnamese letter and is embedded so the text can be
extracted. Margins follow the administrative style: 30 mm left (binding), 20 mm elsewhere.

`render_file` is what a worker process runs (common/heavy.py)."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from devicetrack.labels.fonts import register_fonts
from devicetrack.labels.qr import qr_modules
from devicetrack.paper.document import Document, Picture, Sheet, Signer, Table

MM = 72 / 25.4
_SPACES = re.compile(r"  +")
QR_SIZE = 22 * MM
SIGNATURE_SPACE = 20 * MM
# A piece of evidence is drawn within this box, its proportions kept.
PICTURE_HEIGHT = 45 * MM


def _styles() -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase.pdfmetrics import registerFontFamily

    regular, bold = register_fonts()
    # <b> in a paragraph picks the family's bold; there is no italic face: regular stands in.
    registerFontFamily(regular, normal=regular, bold=bold, italic=regular, boldItalic=bold)
    base = ParagraphStyle("body", fontName=regular, fontSize=10.5, leading=14.5)
    return {
        # Left-aligned: justified lines with a long school name opened wide gaps.
        "body": ParagraphStyle("body", base, spaceAfter=3),
        "item": ParagraphStyle("item", base, leftIndent=14, firstLineIndent=-10, spaceAfter=2),
        "heading": ParagraphStyle("heading", base, fontName=bold, spaceBefore=6, spaceAfter=3),
        "small": ParagraphStyle("small", base, fontSize=8.5, leading=11),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=11),
        "head": ParagraphStyle("head", base, fontName=bold, fontSize=9, leading=11.5),
        "issuer": ParagraphStyle("issuer", base, fontSize=10, leading=13, alignment=TA_CENTER),
        "nation": ParagraphStyle(
            "nation", base, fontName=bold, fontSize=10, leading=13, alignment=TA_CENTER
        ),
        "date": ParagraphStyle("date", base, alignment=TA_RIGHT, spaceBefore=6),
        "title": ParagraphStyle(
            "title",
            base,
            fontName=bold,
            fontSize=14,
            leading=18,
            alignment=TA_CENTER,
            spaceBefore=10,
        ),
        "subtitle": ParagraphStyle("subtitle", base, alignment=TA_CENTER, spaceAfter=8),
        "sign": ParagraphStyle("sign", base, fontName=bold, fontSize=10, alignment=TA_CENTER),
        "hint": ParagraphStyle("hint", base, fontSize=8.5, leading=11, alignment=TA_CENTER),
    }


def _qr(link: str) -> Any:
    from reportlab.platypus import Flowable

    modules = qr_modules(link)

    class Qr(Flowable):
        def wrap(self, *_: Any) -> tuple[float, float]:
            return QR_SIZE, QR_SIZE

        def draw(self) -> None:
            cell = QR_SIZE / modules.size
            top = modules.size - 1
            self.canv.setFillColorRGB(0, 0, 0)
            for row, x, width in modules.runs:
                self.canv.rect(x * cell, (top - row) * cell, width * cell, cell, 0, 1)

    return Qr()


def _paragraph(text: str, style: Any, lead: str = "") -> Any:
    from reportlab.platypus import Paragraph

    # Line breaks kept, and runs of spaces (between "Represented by: …" and "Position: …").
    shown = _SPACES.sub(lambda m: "&nbsp;" * len(m.group()), escape(text)).replace("\n", "<br/>")
    return Paragraph(f"<b>{escape(lead)}</b> {shown}" if lead else shown, style)


def _table(table: Table, width: float, styles: dict[str, Any]) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table as Grid
    from reportlab.platypus import TableStyle

    data = [[_paragraph(h, styles["head"]) for h in table.header]]
    data += [[_paragraph(cell, styles["cell"]) for cell in row] for row in table.rows]
    grid = Grid(data, colWidths=[f * width for f in table.widths], repeatRows=1)
    grid.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 1), (-1, -1), table.padding),
                ("BOTTOMPADDING", (0, 1), (-1, -1), table.padding),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return grid


def _header(sheet: Sheet, width: float, styles: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import Paragraph, TableStyle
    from reportlab.platypus import Table as Grid

    *body, number = sheet.issuer
    issuer = [_paragraph(line, styles["nation"]) for line in body]
    issuer.append(_paragraph(number, styles["issuer"]))
    nation, motto = sheet.nation
    right = [
        _paragraph(nation, styles["nation"]),
        # The motto is underlined, as on every Vietnamese official document.
        Paragraph(f"<u>{escape(motto)}</u>", styles["nation"]),
    ]
    grid = Grid([[issuer, right]], colWidths=[0.42 * width, 0.58 * width])
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [
        grid,
        _paragraph(sheet.place_date, styles["date"]),
        _paragraph(sheet.title, styles["title"]),
        _paragraph(sheet.subtitle, styles["subtitle"]),
    ]


def _signatures(signers: tuple[Signer, ...], width: float, styles: dict[str, Any]) -> Any:
    from reportlab.platypus import Spacer, TableStyle
    from reportlab.platypus import Table as Grid

    cells = [
        [
            _paragraph(s.title, styles["sign"]),
            _paragraph(s.hint, styles["hint"]),
            Spacer(1, SIGNATURE_SPACE),
            _paragraph(s.name, styles["sign"]),
        ]
        for s in signers
    ]
    grid = Grid([cells], colWidths=[width / len(signers)] * len(signers))
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return grid


def _link(sheet: Sheet, width: float, styles: dict[str, Any]) -> Any:
    from reportlab.platypus import Table as Grid
    from reportlab.platypus import TableStyle

    grid = Grid(
        [[_qr(sheet.link), _paragraph(f"{sheet.link_caption}\n{sheet.link}", styles["small"])]],
        colWidths=[QR_SIZE + 4 * MM, width - QR_SIZE - 4 * MM],
    )
    grid.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0)])
    )
    return grid


def _pictures(
    title: str, pictures: tuple[Picture, ...], width: float, styles: dict[str, Any]
) -> list[Any]:
    """The evidence kept with the record, two to a row, each with its caption."""
    import io

    from reportlab.platypus import Image, KeepTogether, Spacer, TableStyle
    from reportlab.platypus import Table as Grid

    cell = width / 2
    cells = [
        [
            Image(io.BytesIO(p.data), width=cell - 6 * MM, height=PICTURE_HEIGHT, kind="bound"),
            _paragraph(p.caption, styles["hint"]),
        ]
        for p in pictures
    ]
    rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    if len(rows[-1]) == 1:
        rows[-1].append([])
    grid = Grid(rows, colWidths=[cell, cell])
    grid.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")])
    )
    return [Spacer(1, 4 * MM), KeepTogether([_paragraph(title, styles["heading"]), grid])]


def render_file(path: str, document: Document) -> None:
    """The document as an A4 PDF in the file `path`."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import KeepTogether, PageBreak, SimpleDocTemplate, Spacer

    styles = _styles()
    doc = SimpleDocTemplate(
        path,
        pagesize=A4,
        leftMargin=30 * MM,
        rightMargin=20 * MM,
        topMargin=20 * MM,
        bottomMargin=20 * MM,
        title=document.title,
        author="devicetrack",
    )
    width = doc.width
    story: list[Any] = []
    for number, sheet in enumerate(document.sheets):
        if number:
            story.append(PageBreak())
        story += _header(sheet, width, styles)
        for block in sheet.blocks:
            if isinstance(block, Table):
                story += [_table(block, width, styles), Spacer(1, 4 * MM)]
            else:
                story.append(_paragraph(block.text, styles[block.style], block.lead))
        # The signature blocks are never split over two pages (a report has none).
        if sheet.signers:
            signatures = _signatures(sheet.signers, width, styles)
            story.append(KeepTogether([Spacer(1, 5 * MM), signatures]))
        if sheet.pictures:
            story += _pictures(sheet.pictures_title, sheet.pictures, width, styles)
        story += [Spacer(1, 4 * MM), _link(sheet, width, styles)]
    doc.build(story)

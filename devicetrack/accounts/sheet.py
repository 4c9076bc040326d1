"""Printed invitations for staff without email: one A4 page per person with their sign-in
name, the one-time code and a QR code of the link (segno), in Vietnamese and English as
the audit summary is. Drawn with reportlab and the bundled DejaVu font (Vietnamese
diacritics); the QR's modules are vector squares, sharp on any printer."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import segno

from devicetrack.accounts.service import SheetEntry
from devicetrack.common.clock import VIETNAM
from devicetrack.labels.fonts import register_fonts

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

# A stored code (school_staff) as a Vietnamese word, handed in by the app (app.py).
Words = Callable[[str | None], str]
QR_SIDE_MM = 70


def invitation_sheets(entries: list[SheetEntry], word: Words = lambda c: c or "") -> bytes:
    """Blocking (reportlab): call through common.workers.off_loop."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    regular, bold = register_fonts()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle("devicetrack – giấy mời / invitations")
    _, height = A4
    left = 20 * mm
    for entry in entries:
        y = height - 25 * mm

        def line(text: str, size: float = 11, font: str = regular, gap: float = 7) -> None:
            nonlocal y
            pdf.setFont(font, size)
            pdf.drawString(left, y, text)
            y -= gap * mm

        line("Giấy mời sử dụng devicetrack", 18, bold, 8)
        line("Invitation to devicetrack", 12, regular, 12)
        line(f"Họ tên / Name: {entry.full_name}", 13, bold, 8)
        line(f"Vai trò / Role: {word(entry.role)} ({entry.role})")
        if entry.places:
            line("Nơi làm việc / Where: " + ", ".join(entry.places)[:90])
        line(f"Tên đăng nhập / Sign-in name: {entry.login}", 12, bold, 10)
        line("Mã dùng một lần / One-time code:", 11, regular, 9)
        line(entry.code, 22, bold, 12)
        expires = entry.expires_at.astimezone(VIETNAM)
        line(f"Hết hạn / Valid until: {expires:%d/%m/%Y %H:%M}", 11, regular, 10)

        side = QR_SIDE_MM * mm
        _draw_qr(pdf, entry.link, left, y - side, side)
        y -= side + 8 * mm
        line("Quét mã QR bằng điện thoại, hoặc mở địa chỉ dưới đây và nhập mã,", 10, regular, 5)
        line("rồi chọn mật khẩu của bạn.", 10, regular, 6)
        line(
            "Scan the QR code with a phone, or open the address below and type the", 9, regular, 4.5
        )
        line("code, then choose your password.", 9, regular, 7)
        line(entry.link.split("?", 1)[0], 10, bold, 6)
        line("Giữ kín giấy này: ai có mã đều có thể nhận tài khoản.", 9, regular, 4.5)
        line("Keep this sheet private: whoever has the code can take the account.", 9)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _draw_qr(pdf: Canvas, data: str, x: float, y: float, side: float) -> None:
    """The QR code of `data` as filled squares in a side × side box at (x, y), its quiet
    zone included."""
    qr = segno.make(data, error="m")
    matrix = qr.matrix
    border = 4  # the quiet zone QR readers expect, in modules
    modules = len(matrix) + 2 * border
    unit = side / modules
    pdf.setFillColorRGB(0, 0, 0)
    for row, cells in enumerate(matrix):
        top = y + side - (row + border + 1) * unit
        for col, dark in enumerate(cells):
            if dark:
                pdf.rect(x + (col + border) * unit, top, unit, unit, stroke=0, fill=1)

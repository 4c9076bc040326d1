"""A printable audit summary for the school's records."""

from __future__ import annotations

import io
from collections.abc import Callable

from devicetrack.audits.schemas import AuditRead
from devicetrack.common.clock import VIETNAM
from devicetrack.labels.fonts import register_fonts

# A stored code (tablet, good, assigned) as a reader's word. The translations live in the
# web layer, above the domains, so the application hands this in (app.py `vietnamese_words`).
Words = Callable[[str | None], str]


def audit_pdf(audit: AuditRead, school_name: str, word: Words = lambda c: c or "") -> bytes:
    """`word` shows a stored code (tablet, good, assigned) as the reader's word. Times are
    printed on Vietnam's clock."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    regular, bold = register_fonts()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    _, height = A4
    y = height - 20 * mm

    def line(text: str, size: float = 10, font: str = regular, gap: float = 5.5) -> None:
        nonlocal y
        if y < 20 * mm:
            pdf.showPage()
            y = height - 20 * mm
        pdf.setFont(font, size)
        pdf.drawString(18 * mm, y, text)
        y -= gap * mm

    line(f"Kiểm kê thiết bị / Device audit #{audit.id}", 15, bold, 8)
    line(school_name, 12, bold, 7)
    started = audit.started_at.astimezone(VIETNAM)
    closed = audit.closed_at.astimezone(VIETNAM) if audit.closed_at else None
    line(
        f"Bắt đầu / started: {started:%d/%m/%Y %H:%M}"
        + (f"   Kết thúc / closed: {closed:%d/%m/%Y %H:%M}" if closed else "   (đang mở / open)")
    )
    line(
        f"Dự kiến / expected: {audit.expected}   Tìm thấy / found: {audit.found}   "
        f"Thiếu / missing: {audit.missing}",
    )
    line(
        f"Học sinh đang mượn / on loan: {audit.on_loan}   "
        f"Ngoài danh sách / unexpected: {audit.unexpected}",
        gap=8,
    )
    if audit.result:
        for title, rows in (
            (
                "Tìm thấy / Found",
                [f"{f.asset_tag}  {word(f.kind)}  {word(f.condition)}" for f in audit.result.found],
            ),
            (
                "Thiếu / Missing",
                [f"{m.asset_tag}  {word(m.kind)}  {word(m.status)}" for m in audit.result.missing],
            ),
            (
                # Not missing: at home with a student; the school confirms them with the
                # student (who is named only to readers who may see it: see service.read).
                "Học sinh đang mượn (xác nhận với học sinh) / On loan (confirm with the student)",
                [
                    f"{o.asset_tag}  {word(o.kind)}  {o.student_code or ''}"
                    + (f"  hạn trả / due {o.due_back_on:%d/%m/%Y}" if o.due_back_on else "")
                    for o in audit.result.on_loan
                ],
            ),
            (
                "Ngoài danh sách / Unexpected",
                [
                    f"{u.code}  {u.reason}  {u.held_by_school_name or ''}"
                    for u in audit.result.unexpected
                ],
            ),
        ):
            line(f"{title} ({len(rows)})", 11, bold, 6)
            for row in rows:
                line(row, 9, regular, 4.5)
            y -= 3 * mm
    pdf.showPage()
    pdf.save()
    return out.getvalue()

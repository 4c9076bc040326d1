"""Everything held about one student as a document for the family: the record, the
consents, the loans and who has read the student's personal data, in the reader's language
and on Vietnam's clock. The data is students.export's (the API answers it as JSON); this
only lays it out, with the fonts the labels and the audit summary print Vietnamese with."""

from __future__ import annotations

import asyncio
import io
from datetime import date, datetime
from typing import Any, Protocol

from devicetrack.common.clock import local_today
from devicetrack.common.heavy import HeavyWork
from devicetrack.labels.fonts import register_fonts
from devicetrack.students.schemas import StudentExport


class Reader(Protocol):
    """The reader's language (the web's Translator): sentences, stored codes as words, field
    names as their labels, and dates."""

    def __call__(self, text: str, **values: Any) -> str: ...

    def word(self, value: str | None) -> str: ...

    def field(self, name: str | None) -> str: ...

    def date(self, value: date | datetime | None) -> str: ...


async def student_record_pdf(
    heavy: HeavyWork, exported: StudentExport, school_name: str, t: Reader
) -> bytes:
    """The document, laid out in a thread (a long access log is seconds of work for the
    event loop otherwise) within one of the process's heavy-work slots."""
    async with heavy.slot():
        return await asyncio.to_thread(render, exported, school_name, t)


def _lines(exported: StudentExport, school_name: str, t: Reader) -> list[tuple[str, str]]:
    """The document as (style, text) lines: title, heading, text."""
    s = exported.student
    out: list[tuple[str, str]] = [
        ("title", t("Everything held about a student")),
        ("text", school_name),
        ("text", t("Prepared on {day} for the student's family.", day=t.date(local_today()))),
        ("heading", t("The student")),
    ]
    facts: list[tuple[str, Any]] = [
        ("student_code", s.student_code),
        ("full_name", s.full_name),
        ("grade", s.grade),
        ("class_name", s.class_name),
        ("priority", ", ".join(t.word(p) for p in s.priority) or None),
        ("status", t.word(s.status)),
        ("birth_year", s.birth_year),
        ("national_id", s.national_id),
        ("guardian_name", s.guardian_name),
        ("guardian_phone", s.guardian_phone),
    ]
    out += [("text", f"{t.field(name)}: {value}") for name, value in facts if value is not None]
    if s.erased:
        out.append(("text", t("The personal data was erased; the loans stay under the code.")))

    out.append(("heading", t("Consents")))
    for c in exported.consents:
        given = [t.date(c.given_at), t.word(c.method), t.word(c.subject), c.given_by, c.evidence]
        if c.withdrawn_at:
            given.append(t("withdrawn {day}", day=t.date(c.withdrawn_at)))
        out.append(("text", " · ".join(p for p in given if p)))
    if not exported.consents:
        out.append(("text", t("None.")))

    out.append(("heading", t("Loans")))
    for a in exported.assignments:
        parts = [a.asset_tag, t.word(a.device_kind), t("lent {day}", day=t.date(a.assigned_at))]
        if a.due_back_on:
            parts.append(t("due back {day}", day=t.date(a.due_back_on)))
        if a.returned_at:
            parts.append(t("returned {day}", day=t.date(a.returned_at)))
        elif a.overdue:
            parts.append(t("overdue"))
        out.append(("text", " · ".join(parts)))
    if not exported.assignments:
        out.append(("text", t("None.")))

    out.append(("heading", t("Signatures and photos of the signed paper")))
    for e in exported.evidence:
        out.append(
            ("text", " · ".join(p for p in (t.date(e.created_at), t.word(e.kind), e.signer) if p))
        )
    if not exported.evidence:
        out.append(("text", t("None.")))

    out.append(("heading", t("Who has read the student's personal data")))
    for r in exported.access_log:
        who = f"{r.user_name or '–'} ({t.word(r.user_role)})"
        out.append(("text", f"{t.date(r.at)} · {who} · {r.route}"))
    return out


STYLES = {"title": (15, True, 9.0), "heading": (12, True, 8.0), "text": (10, False, 5.5)}


def render(exported: StudentExport, school_name: str, t: Reader) -> bytes:
    """A4 pages of wrapped lines; text stays extractable (and searchable) in the PDF."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    regular, bold = register_fonts()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(t("Everything held about a student"))
    width, height = A4
    left, usable = 18 * mm, width - 36 * mm
    y = height - 20 * mm
    for style, text in _lines(exported, school_name, t):
        size, strong, gap = STYLES[style]
        font = bold if strong else regular
        if style == "heading":
            y -= 3 * mm
        for piece in simpleSplit(text, font, size, usable) or [""]:
            if y < 20 * mm:
                pdf.showPage()
                y = height - 20 * mm
            pdf.setFont(font, size)
            pdf.drawString(left, y, piece)
            y -= gap * mm
    pdf.showPage()
    pdf.save()
    return out.getvalue()

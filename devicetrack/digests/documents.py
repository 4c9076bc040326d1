"""The files digests attach, made off the event loop (a worker thread): the carrier's SIM
list as XLSX (the workbook of the province's SIM page) and a donor's impact as a PDF (the
impact page's figures, drawn as the printed records are: paper/render.py). Neither holds
anything personal: SIMs, devices, schools and counts."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from devicetrack.common import spreadsheet
from devicetrack.common.workers import off_loop
from devicetrack.i18n import N_
from devicetrack.mail.smtp import Attachment
from devicetrack.paper import render
from devicetrack.paper.document import Document, Sheet, Table, Text
from devicetrack.paper.language import Language, place_and_date
from devicetrack.reports import sim_sheet
from devicetrack.reports.schemas import DonorImpact, SimToTopUp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def _written(suffix: str, write: Callable[..., object], *args: Any) -> bytes:
    """What `write(path, *args)` puts in a new file, read back; the file is removed."""
    with tempfile.TemporaryDirectory(prefix="devicetrack-digest-") as folder:
        path = str(Path(folder) / f"file{suffix}")
        write(path, *args)
        return Path(path).read_bytes()


async def sims_xlsx(sims: list[SimToTopUp], t: Language) -> Attachment:
    columns, rows = sim_sheet.sims_to_top_up_table(sims, t)
    title = t(sim_sheet.TITLE)
    content = await off_loop(_written, ".xlsx", spreadsheet.write_xlsx, title, columns, rows)
    return Attachment(sim_sheet.FILENAME, XLSX, content)


def impact_document(impact: DonorImpact, t: Language, today: date, link: str) -> Document:
    """The impact page on one A4 sheet (more if many schools were reached)."""
    figures = (
        (N_("devices"), impact.devices_total),
        (N_("schools reached"), impact.schools_reached_total),
        (N_("communes reached"), impact.communes_reached),
        (N_("students reached"), impact.students_reached),
        (N_("students with a device now"), impact.students_with_device_now),
        (N_("SIMs expiring in 30 days"), impact.sims_expiring_30_days),
    )
    by_status: dict[str, int] = {}
    for statuses in impact.by_kind_status.values():
        for status, n in statuses.items():
            by_status[status] = by_status.get(status, 0) + n
    blocks: list[Text | Table] = [
        Table(
            header=(t(N_("Impact")), ""),
            rows=tuple((t(label), str(n)) for label, n in figures),
            widths=(0.7, 0.3),
        ),
        Text(t(N_("Devices by status")), style="heading"),
        Table(
            header=(t(N_("Status")), t(N_("Devices"))),
            rows=tuple((t.word(s), str(n)) for s, n in sorted(by_status.items())),
            widths=(0.7, 0.3),
        ),
        Text(t(N_("Schools reached")), style="heading"),
        Table(
            header=(t(N_("School")), t(N_("Commune")), t(N_("Devices"))),
            rows=tuple(
                (s.school_name, s.commune_name, str(s.devices)) for s in impact.schools_reached
            )
            or (("–", "–", "0"),),
            widths=(0.5, 0.35, 0.15),
        ),
    ]
    if impact.schools_reached_total > len(impact.schools_reached):
        blocks.append(
            Text(
                t(
                    N_("The {n} schools with the most of these devices, of {total} reached."),
                    n=len(impact.schools_reached),
                    total=impact.schools_reached_total,
                )
            )
        )
    sheet = Sheet(
        issuer=("devicetrack", impact.donor_name),
        nation=("", ""),
        place_date=place_and_date(t, "devicetrack", today),
        title=t(N_("Impact of your donations")),
        subtitle=impact.donor_name,
        blocks=tuple(blocks),
        signers=(),
        link=link,
        link_caption=t(N_("The impact page, always up to date:")),
    )
    return Document(title=t(N_("Impact of your donations")), sheets=(sheet,))


async def impact_pdf(impact: DonorImpact, t: Language, today: date, link: str) -> Attachment:
    document = impact_document(impact, t, today, link)
    content = await off_loop(_written, ".pdf", render.render_file, document)
    return Attachment(f"impact-{today.isoformat()}.pdf", PDF, content)

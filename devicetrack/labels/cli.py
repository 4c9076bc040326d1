"""`devicetrack labels`: a PDF sheet from the command line, through the same service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from rich.progress import Progress

from devicetrack.auth.cli import OPERATOR
from devicetrack.config import Settings
from devicetrack.db.engine import cli_session
from devicetrack.errors import DomainError
from devicetrack.labels import render, service
from devicetrack.labels.schemas import LabelSheetRequest
from devicetrack.labels.values import TemplateName


async def print_labels(
    url: str,
    *,
    donation: int | None,
    school: int | None,
    label_batch: int | None,
    template: str,
    skip: int,
    copies: int,
    output: str,
) -> int:
    request = LabelSheetRequest(
        template=TemplateName(template),
        donation_id=donation,
        school_id=school,
        label_batch=label_batch,
        skip=skip,
        copies=copies,
    )
    async with cli_session(url) as session:
        try:
            settings = Settings.from_env()
            labels = await service.sheet_labels(
                session, OPERATOR, request, settings.max_labels_per_request, settings.public_url
            )
            service.check_options(template, skip, copies, labels)
        except DomainError as exc:
            raise SystemExit(f"error: {exc}") from None

    return await asyncio.to_thread(_write, labels, template, skip, copies, output)


def _write(
    labels: list[render.LabelData], template: str, skip: int, copies: int, output: str
) -> int:
    with Progress() as progress, open(output, "wb") as out:
        task = progress.add_task("labels", total=len(labels))

        def counted() -> Iterator[render.LabelData]:
            for label in labels:
                yield label
                progress.advance(task)

        return render.sheet_pdf(counted(), template, skip, copies, out)

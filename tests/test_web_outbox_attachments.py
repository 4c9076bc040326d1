"""The admin's outbox (/admin/outbox, no SMTP server configured) shows each email's
attachments and opens them, so the demo's donor digest shows its impact PDF and the
officer's SIM digest its carrier list: a new user reading "the full report is attached"
found nothing to open. Only an admin opens them. Real HTTP, real PostgreSQL, the job as
the worker runs it."""

from __future__ import annotations

import re
from dataclasses import replace

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.config import Settings
from devicetrack.jobs.runtime import Runtime
from devicetrack.worker import run_now
from tests.factories import Factory
from tests.job_helpers import run_jobs
from tests.lifecycle_helpers import make_scene
from tests.test_digests import _late_loan
from tests.web_helpers import browser


async def test_the_outbox_lists_and_opens_a_digests_attachment(
    settings: Settings,
    db: asyncpg.Pool,
    client: AsyncTestClient,
    web: AsyncTestClient,
    factory: Factory,
) -> None:
    settings = replace(settings, smtp_url=None)
    scene = await make_scene(client, db, factory)
    await _late_loan(scene, db, 1)
    runtime = Runtime(settings=settings)
    assert (await run_now(runtime, "digests.donor_impact")).done
    await runtime.close()
    await run_jobs(settings)

    outbox = await web.get("/admin/outbox", headers=browser(scene.admin, "vi"))
    assert outbox.status_code == 200
    [link] = re.findall(
        r'href="(/admin/outbox/\d+/attachments/\d+)">impact-[\d-]+\.pdf</a>', outbox.text
    )
    assert "Tệp đính kèm" in outbox.text
    # The links in the emails open from the outbox, as from a mail reader.
    assert re.search(r'<a href="https?://[^"]+/donor"[^>]*>', outbox.text)

    pdf = await web.get(link, headers=browser(scene.admin))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.headers["content-disposition"].startswith('attachment; filename="impact-')

    for caller in (scene.donor, scene.staff_a, scene.officer):
        refused = await web.get(link, headers=browser(caller))
        assert refused.status_code in (403, 404)
    message_id = link.split("/")[3]
    assert (
        await web.get(
            f"/admin/outbox/{message_id}/attachments/999999", headers=browser(scene.admin)
        )
    ).status_code == 404

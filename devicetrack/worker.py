"""The job runner, composed: every task and periodic job, and the language mail is written
in. It sits above the domains and the web layer (the translations live there) and below
the command line, which runs it (`devicetrack worker`, in `serve`/`demo`, `jobs run`).

The periodic jobs (Vietnam time; each does its work once per period, jobs/periodic.py):

    db.nightly_backup     daily 02:00   pg_dump, kept DEVICETRACK_BACKUP_KEEP_DAYS days
                                        (on for the embedded database, or with
                                        DEVICETRACK_NIGHTLY_BACKUP=1)
    privacy.retention     daily 02:30   students who left long ago pseudonymised
    idempotency.purge     daily 03:00   Idempotency-Keys past their retention deleted
    digests.sims_expiring daily 07:00   SIMs whose plans end within 30 days (digests/)
    digests.overdue_loans Mondays 07:00 loans past their due date
    digests.audits_due    1st of month  schools with no audit in 180 days
    digests.donor_impact  1st of quarter  each donor's impact report (PDF)
    webhooks.purge        daily 03:15   webhook messages older than 30 days deleted
    webhooks.sim_expiring daily 07:00   sim.expiring webhooks (plans ending in 30/14/7/1 days)

Tasks run on demand: mail.send (each email, retried with a growing wait), webhooks.dispatch
(the deliveries due, deferred in the transaction that wrote them; webhooks.sweep runs it
every five minutes too)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import procrastinate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.accounts import tasks as accounts_tasks
from devicetrack.config import Settings
from devicetrack.db.backup import NIGHTLY_AT, nightly_backup, nightly_dir, nightly_enabled
from devicetrack.digests.jobs import digest_jobs
from devicetrack.idempotency import service as idempotency
from devicetrack.jobs.periodic import Outcome, PeriodicJob, run_once
from devicetrack.jobs.runner import build_app
from devicetrack.jobs.runtime import Runtime
from devicetrack.jobs.schedule import Every, Schedule
from devicetrack.mail import tasks as mail_tasks
from devicetrack.mail.render import Translate
from devicetrack.students.retention import sweep_retention
from devicetrack.web.i18n import Translator
from devicetrack.webhooks import tasks as webhook_tasks


def mail_language(lang: str) -> Translate:
    """The one place email gets its words in the reader's language (English msgids in,
    the reader's text out). Today the pages' catalogue; swap this for gettext's
    catalogues and every email follows."""
    return Translator(lang)


def runtime_for(settings: Settings, url: str) -> Runtime:
    """`settings` as the command read them (no DATABASE_URL: the embedded server) and the
    database URL actually in use."""
    return Runtime(
        settings=replace(settings, database_url=url), embedded=settings.database_url is None
    )


def backup_enabled(runtime: Runtime) -> bool:
    """backup.nightly_enabled, for the settings as the command read them."""
    as_read = replace(runtime.settings, database_url=None if runtime.embedded else runtime.url)
    return nightly_enabled(as_read)


async def _backup(session: AsyncSession, runtime: Runtime, period: str) -> str:
    settings = runtime.settings
    written = await nightly_backup(
        runtime.url,
        nightly_dir(settings),
        settings.backup_keep_days,
        embedded=runtime.embedded,
        today=date.fromisoformat(period),
    )
    return f"backup {written}"


async def _retention(session: AsyncSession, runtime: Runtime, period: str) -> str:
    result = await sweep_retention(session, months=runtime.settings.retention_months)
    return f"{result.pseudonymised} students pseudonymised, {result.skipped} still hold a device"


async def _purge(session: AsyncSession, runtime: Runtime, period: str) -> str:
    removed = await idempotency.purge_expired(session, runtime.settings.idempotency_hours)
    return f"{removed} expired Idempotency-Keys removed"


BACKUP = PeriodicJob(
    "db.nightly_backup", Schedule(Every.DAY, NIGHTLY_AT), _backup, "the nightly backup (pg_dump)"
)
PERIODIC: tuple[PeriodicJob, ...] = (
    BACKUP,
    PeriodicJob(
        "privacy.retention",
        Schedule(Every.DAY, time(2, 30)),
        _retention,
        "pseudonymise students who left more than DEVICETRACK_RETENTION_MONTHS ago",
    ),
    PeriodicJob(
        "idempotency.purge",
        Schedule(Every.DAY, time(3, 0)),
        _purge,
        "delete Idempotency-Keys past DEVICETRACK_IDEMPOTENCY_HOURS",
    ),
    # Digests by email, each reader's words from the pages' catalogue (as mail's).
    *digest_jobs(Translator),
    webhook_tasks.SIM_EXPIRING,
    webhook_tasks.PURGE,
)


def periodic_jobs(runtime: Runtime) -> list[PeriodicJob]:
    return [j for j in PERIODIC if j is not BACKUP or backup_enabled(runtime)]


def build(runtime: Runtime) -> procrastinate.App:
    return build_app(
        runtime,
        [
            mail_tasks.registrar(mail_language),
            accounts_tasks.registrar(),
            webhook_tasks.registrar(),
        ],
        periodic_jobs(runtime),
    )


class UnknownJob(LookupError):
    pass


async def run_now(runtime: Runtime, name: str, when: datetime | None = None) -> Outcome:
    """`devicetrack jobs run NAME`: the job's work for the current period (or `when`'s),
    unless that period's work was done."""
    job = next((j for j in PERIODIC if j.name == name), None)
    if job is None:
        raise UnknownJob(name)
    async with runtime.transaction() as session:
        return await run_once(session, runtime, job, when or datetime.now(UTC))


async def last_runs(runtime: Runtime) -> dict[str, tuple[str, datetime, str]]:
    """Each periodic job's latest period done: (period, when, summary)."""
    async with runtime.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT DISTINCT ON (job) job, period, done_at, summary FROM job_runs"
                " ORDER BY job, done_at DESC"
            )
        )
        return {r.job: (r.period, r.done_at, r.summary) for r in rows}

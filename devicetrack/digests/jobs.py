"""The digests as periodic jobs (added to the runner by devicetrack/worker.py): each
claims its period (a day, an ISO week, a month, a quarter in Vietnam's time) in the
transaction that composes its messages, so a period's digest is mailed once however often
it runs (the scheduler, a retry, `devicetrack jobs run digests.sims_expiring`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.digests import mailings
from devicetrack.digests.schedules import SCHEDULES, job_name
from devicetrack.digests.values import Digest
from devicetrack.jobs.periodic import PeriodicJob, Work
from devicetrack.jobs.runtime import Runtime
from devicetrack.paper.language import Languages

Send = Callable[[AsyncSession, mailings.Mailing, str], Awaitable[int]]

ABOUT = {
    Digest.SIMS_EXPIRING: "mail staff and officers the SIMs whose plans end within 30 days",
    Digest.OVERDUE_LOANS: "mail school staff their loans past the due date",
    Digest.AUDITS_DUE: "mail staff and officers the schools with no audit in 180 days",
    Digest.DONOR_IMPACT: "mail each donor's users their impact report (PDF)",
}


async def _sims(session: AsyncSession, mailing: mailings.Mailing, period: str) -> int:
    return await mailings.send_sims_expiring(session, mailing)


async def _loans(session: AsyncSession, mailing: mailings.Mailing, period: str) -> int:
    return await mailings.send_overdue_loans(session, mailing)


async def _audits(session: AsyncSession, mailing: mailings.Mailing, period: str) -> int:
    return await mailings.send_audits_due(session, mailing)


async def _donors(session: AsyncSession, mailing: mailings.Mailing, period: str) -> int:
    return await mailings.send_donor_impact(session, mailing, period)


SENDS: dict[Digest, Send] = {
    Digest.SIMS_EXPIRING: _sims,
    Digest.OVERDUE_LOANS: _loans,
    Digest.AUDITS_DUE: _audits,
    Digest.DONOR_IMPACT: _donors,
}


def _work(send: Send, languages: Languages) -> Work:
    async def work(session: AsyncSession, runtime: Runtime, period: str) -> str:
        mailing = mailings.Mailing(runtime.settings.public_url, languages)
        return f"{await send(session, mailing, period)} digests composed"

    return work


def digest_jobs(languages: Languages) -> tuple[PeriodicJob, ...]:
    """The four digests, their words in each reader's language from `languages`."""
    return tuple(
        PeriodicJob(job_name(d), SCHEDULES[d], _work(SENDS[d], languages), ABOUT[d]) for d in Digest
    )

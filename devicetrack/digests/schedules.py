"""When each digest is mailed, in Vietnam's time (jobs/schedule.py turns these into UTC
cron lines for procrastinate), and the job that mails it."""

from __future__ import annotations

from datetime import time

from devicetrack.digests.values import Digest
from devicetrack.jobs.schedule import Every, Schedule

SEVEN = time(7, 0)  # the start of a school day: read before the first lesson

SCHEDULES: dict[Digest, Schedule] = {
    Digest.SIMS_EXPIRING: Schedule(Every.DAY, SEVEN),
    Digest.OVERDUE_LOANS: Schedule(Every.WEEK, SEVEN, weekday=0),  # Mondays
    Digest.AUDITS_DUE: Schedule(Every.MONTH, SEVEN),
    Digest.DONOR_IMPACT: Schedule(Every.QUARTER, SEVEN),
}


def job_name(digest: Digest) -> str:
    """`devicetrack jobs run digests.sims_expiring` and the like."""
    return f"digests.{digest.value}"

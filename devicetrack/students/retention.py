"""The retention sweep (Law 91/2025, Decree 356/2025): students who left or graduated more
than DEVICETRACK_RETENTION_MONTHS ago are pseudonymised by the very erasure the school's
staff use (service.erase_student). `devicetrack privacy sweep` and the nightly jobs call it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.db.engine import cli_session
from devicetrack.errors import Conflict
from devicetrack.privacy.schemas import SweepResult
from devicetrack.students import repository as repo
from devicetrack.students import service as students

# The sweep acts for the installation, as the command line does (auth/cli.py): it passes
# erasure's checks as an admin would, and reads nothing, so it writes no access row.
RETENTION = Principal(user_id=0, email="retention", full_name="retention sweep", role="admin")


async def sweep_retention(session: AsyncSession, *, months: int) -> SweepResult:
    """Pseudonymise every student who left or graduated more than `months` months ago.
    Idempotent: an erased student is not due any more. Each erasure in its own savepoint, so
    one refused (a device still lent) does not undo the others; the caller commits."""
    if months < 1:
        raise ValueError("the retention period is at least one month")
    pseudonymised = skipped = 0
    for student_id in await repo.due_for_retention(session, months):
        try:
            async with session.begin_nested():
                await students.erase_student(session, RETENTION, student_id)
        except Conflict:
            skipped += 1
        else:
            pseudonymised += 1
    return SweepResult(pseudonymised=pseudonymised, skipped=skipped)


async def run_sweep(url: str, months: int) -> SweepResult:
    """One transaction: every due student is pseudonymised, or (on a crash) none is."""
    async with cli_session(url) as session:
        return await sweep_retention(session, months=months)

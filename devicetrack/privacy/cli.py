"""`devicetrack privacy sweep` from the command line, through the same service a nightly job
will call."""

from __future__ import annotations

from devicetrack.db.engine import cli_session
from devicetrack.privacy import service
from devicetrack.privacy.schemas import SweepResult


async def run_sweep(url: str, months: int) -> SweepResult:
    """One transaction: every due student is pseudonymised, or (on a crash) none is."""
    async with cli_session(url) as session:
        return await service.sweep_retention(session, months=months)

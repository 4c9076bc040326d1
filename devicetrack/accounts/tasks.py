"""The accounts job, added to the job runner by devicetrack/worker.py: a password reset asked
for by address is answered by this job, so the request itself never reveals whether the
address has an account (accounts.service.request_reset)."""

from __future__ import annotations

import procrastinate

from devicetrack.accounts import service
from devicetrack.jobs.runner import Registrar
from devicetrack.jobs.runtime import Runtime


def registrar() -> Registrar:
    def register(app: procrastinate.App, runtime: Runtime) -> None:
        @app.task(name=service.RESET_REQUESTED_TASK)
        async def reset_requested(email: str) -> None:
            async with runtime.transaction() as session:
                await service.mail_reset_if_known(session, runtime.settings, email)

    return register

"""The mail job, added to the job runner by devicetrack/worker.py."""

from __future__ import annotations

import procrastinate

from devicetrack.jobs.retry import Backoff
from devicetrack.jobs.runner import Registrar
from devicetrack.jobs.runtime import Runtime
from devicetrack.mail import service, smtp
from devicetrack.mail.render import Translations


def registrar(translations: Translations) -> Registrar:
    def register(app: procrastinate.App, runtime: Runtime) -> None:
        settings = runtime.settings
        backoff = Backoff(
            attempts=settings.mail_max_attempts,
            first_wait=settings.mail_retry_seconds,
            on=(smtp.NotSent,),
        )

        @app.task(name=service.SEND_TASK, retry=backoff, pass_context=True)
        async def send(context: procrastinate.JobContext, message_id: int) -> None:
            last = backoff.is_last(context.job)
            await service.deliver(runtime, translations, message_id, last=last)

    return register

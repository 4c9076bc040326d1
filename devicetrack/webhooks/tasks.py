"""The webhook jobs, added to the job runner by devicetrack/worker.py.

`webhooks.dispatch` runs on demand: migration 0033's trigger (and webhooks_emit) defer it
in the transaction that writes deliveries, a failed try defers it for its retry, a
redeliver defers it. `webhooks.sweep` runs it every five minutes as a safety net (a
delivery whose worker died stays leased for two minutes, then is due again).
`webhooks.sim_expiring` (daily, 07:00 Vietnam time) and `webhooks.purge` (daily, 03:15:
messages older than KEEP_DAYS, with their deliveries and tries) are periodic jobs."""

from __future__ import annotations

from datetime import time

import procrastinate

from devicetrack.jobs.periodic import PeriodicJob
from devicetrack.jobs.runner import Registrar
from devicetrack.jobs.runtime import Runtime
from devicetrack.jobs.schedule import Every, Schedule
from devicetrack.webhooks import delivery
from devicetrack.webhooks.limits import KEEP_DAYS
from devicetrack.webhooks.service import DISPATCH_TASK

SWEEP_TASK = "webhooks.sweep"
SWEEP_CRON = "*/5 * * * *"

SIM_EXPIRING = PeriodicJob(
    "webhooks.sim_expiring",
    Schedule(Every.DAY, time(7, 0)),
    delivery.sim_expiring,
    "sim.expiring webhooks: SIMs whose plan ends in 30, 14, 7 or 1 days",
)
PURGE = PeriodicJob(
    "webhooks.purge",
    Schedule(Every.DAY, time(3, 15)),
    delivery.purge,
    f"delete webhook messages, deliveries and tries older than {KEEP_DAYS} days",
)


def registrar() -> Registrar:
    def register(app: procrastinate.App, runtime: Runtime) -> None:
        @app.task(name=DISPATCH_TASK)
        async def dispatch() -> None:
            await delivery.dispatch(runtime)

        @app.periodic(cron=SWEEP_CRON, periodic_id=SWEEP_TASK)
        @app.task(name=SWEEP_TASK, queueing_lock=SWEEP_TASK)
        async def sweep(timestamp: int) -> None:
            await delivery.dispatch(runtime)

    return register

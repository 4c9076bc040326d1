"""The procrastinate application and the ways to run its worker.

The worker talks to PostgreSQL through psycopg: procrastinate 3 ships connectors for
psycopg 3 only (none for asyncpg), so psycopg is the job runner's driver while the app
keeps asyncpg. Enqueueing does not need it (queue.enqueue runs on the caller's asyncpg
connection).

`devicetrack worker` runs `work()` in the foreground (signals stop it gracefully);
`serve` and `demo` run it in a thread of their own process (`InProcessWorker`), so a
single machine needs nothing else. Every worker also defers the periodic jobs: the
database keeps two workers from deferring the same scheduled run twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import procrastinate

from devicetrack.db.fastpool import dsn
from devicetrack.jobs.periodic import PeriodicJob, run_once
from devicetrack.jobs.runtime import Runtime

log = logging.getLogger("devicetrack.jobs")

# A task module's hook: add its tasks to the application, closing over the runtime.
Registrar = Callable[[procrastinate.App, Runtime], None]

# Finished jobs leave their record in our own tables (mail_messages, job_runs); the
# queue keeps only what is waiting, running or failed.
DELETE_JOBS = "successful"
# Seconds a stopping worker gives its running jobs before aborting them.
GRACEFUL_SECONDS = 30.0


def build_app(
    runtime: Runtime, registrars: Sequence[Registrar], periodic: Sequence[PeriodicJob]
) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=dsn(runtime.url),
        min_size=1,
        max_size=runtime.settings.job_concurrency + 2,  # + LISTEN and the deferrer
        kwargs={"application_name": "devicetrack-worker"},
    )
    app = procrastinate.App(connector=connector)
    for register in registrars:
        register(app, runtime)
    for job in periodic:
        _register_periodic(app, runtime, job)
    return app


def _register_periodic(app: procrastinate.App, runtime: Runtime, job: PeriodicJob) -> None:
    async def run(timestamp: int) -> None:
        # procrastinate passes the scheduled time; the period is that time's, so a run
        # that starts late (or is retried) still does the period it was deferred for.
        when = datetime.fromtimestamp(timestamp, UTC)
        async with runtime.transaction() as session:
            outcome = await run_once(session, runtime, job, when)
        log.info("%s for %s: %s", outcome.job, outcome.period, outcome.summary)

    # A queueing lock: runs missed while no worker was up do not pile up behind each other.
    task = app.task(name=job.name, queueing_lock=job.name)(run)
    app.periodic(cron=job.schedule.utc_cron())(task)


async def work(
    app: procrastinate.App,
    runtime: Runtime,
    *,
    wait: bool = True,
    install_signal_handlers: bool = True,
    name: str = "devicetrack",
) -> None:
    """Run the worker (and the periodic deferrer) until stopped; with `wait=False`, until
    the jobs due now are done (the tests drain the queue this way)."""
    try:
        async with app.open_async():
            # Jobs a worker was running when it died (a kill, a power cut) stay "doing" with
            # a worker whose heartbeat stopped: put them back on the queue. Every task here
            # may run again safely (mail checks its message's state, periodic jobs their
            # period).
            for stalled in await app.job_manager.get_stalled_jobs():
                log.warning("job %s was left running by a stopped worker; retried", stalled.id)
                await app.job_manager.retry_job(stalled)
            await app.run_worker_async(
                wait=wait,
                name=name,
                concurrency=runtime.settings.job_concurrency,
                delete_jobs=DELETE_JOBS,
                install_signal_handlers=install_signal_handlers,
                shutdown_graceful_timeout=GRACEFUL_SECONDS,
            )
    finally:
        await runtime.close()


class InProcessWorker:
    """The worker in a daemon thread with its own event loop, for `serve` and `demo`.
    Not inside the ASGI app: uvicorn may run several app processes, and the worker's jobs
    (pg_dump, SMTP) should not share the loop that answers requests."""

    def __init__(self, build: Callable[[], tuple[procrastinate.App, Runtime]]) -> None:
        self._build = build
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="job-worker", daemon=True)
        self._thread.start()
        self._started.wait(30)

    def _main(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(self._run())

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        app, runtime = self._build()
        self._task = asyncio.current_task()
        self._started.set()
        try:
            await work(app, runtime, install_signal_handlers=False, name="in-process")
        except Exception:
            log.exception("the job worker stopped")

    def stop(self, timeout: float = GRACEFUL_SECONDS + 5) -> None:
        """Ask the worker to finish its running jobs and stop; wait for it."""
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)

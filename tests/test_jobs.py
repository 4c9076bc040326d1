"""The job runner: procrastinate's schema comes from our migrations, a job enqueued in a
transaction that rolls back never runs, and a periodic job does its work once per period
however often it runs (the scheduler's own run, a retry, `devicetrack jobs run`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from importlib import resources
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner

from devicetrack.cli import main
from devicetrack.config import Settings
from devicetrack.db.engine import cli_session
from devicetrack.jobs.queue import enqueue
from devicetrack.jobs.runtime import Runtime
from devicetrack.jobs.schedule import Every, Schedule
from devicetrack.worker import PERIODIC, build, run_now
from tests.factories import Factory
from tests.job_helpers import run_jobs

MIGRATION = Path(__file__).resolve().parents[1] / "migrations" / "versions" / "0019_job_queue.py"


def test_our_migration_holds_the_installed_procrastinates_schema() -> None:
    """A procrastinate that brings a schema migration of its own needs an Alembic revision
    applying it; until there is one, this fails."""
    shipped = sorted(
        p.name
        for p in resources.files("procrastinate.sql.migrations").iterdir()
        if p.name.endswith(".sql")
    )
    assert f'PROCRASTINATE_LAST_MIGRATION = "{shipped[-1]}"' in MIGRATION.read_text()


async def test_the_periodic_jobs_are_registered_with_their_schedules(settings: Settings) -> None:
    app = build(Runtime(settings=settings, embedded=True))
    crons = {p.task.name: p.cron for p in app.periodic_registry.periodic_tasks.values()}
    assert crons == {
        "db.nightly_backup": "0 19 * * *",  # 02:00 in Vietnam
        "privacy.retention": "30 19 * * *",
        "idempotency.purge": "0 20 * * *",
        "digests.sims_expiring": "0 0 * * *",  # 07:00 in Vietnam
        "digests.overdue_loans": "0 0 * * 1",
        "digests.audits_due": "0 0 1 * *",
        "digests.donor_impact": "0 0 1 1,4,7,10 *",
        "webhooks.sim_expiring": "0 0 * * *",  # 07:00 in Vietnam
        "webhooks.purge": "15 20 * * *",
        "webhooks.sweep": "*/5 * * * *",
    }
    assert "mail.send" in app.tasks and "webhooks.dispatch" in app.tasks
    # With DATABASE_URL (not the embedded server), no nightly backup unless asked for.
    app = build(Runtime(settings=settings, embedded=False))
    assert {p.task.name for p in app.periodic_registry.periodic_tasks.values()} == {
        "privacy.retention",
        "idempotency.purge",
        "digests.sims_expiring",
        "digests.overdue_loans",
        "digests.audits_due",
        "digests.donor_impact",
        "webhooks.sim_expiring",
        "webhooks.purge",
        "webhooks.sweep",
    }


def test_schedules_in_vietnam_time_become_utc_cron_lines() -> None:
    assert Schedule(Every.DAY, time(7, 0)).utc_cron() == "0 0 * * *"
    # Monday 07:00 in Vietnam is Monday 00:00 UTC; Monday 06:00 is Sunday 23:00 UTC.
    assert Schedule(Every.WEEK, time(7, 0), weekday=0).utc_cron() == "0 0 * * 1"
    assert Schedule(Every.WEEK, time(6, 0), weekday=0).utc_cron() == "0 23 * * 0"
    assert Schedule(Every.MONTH, time(7, 0)).utc_cron() == "0 0 1 * *"
    assert Schedule(Every.MONTH, time(2, 0)).utc_cron() == "0 19 L * *"
    assert Schedule(Every.QUARTER, time(8, 0)).utc_cron() == "0 1 1 1,4,7,10 *"
    assert Schedule(Every.QUARTER, time(2, 0)).utc_cron() == "0 19 L 3,6,9,12 *"
    evening = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)  # 01:00 on 1 January in Vietnam
    assert Schedule(Every.DAY, time(2, 0)).period(evening) == "2027-01-01"
    assert Schedule(Every.WEEK, time(2, 0)).period(evening) == "2026-W53"
    assert Schedule(Every.MONTH, time(2, 0)).period(evening) == "2027-01"
    assert Schedule(Every.QUARTER, time(2, 0)).period(evening) == "2027-Q1"


async def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(
    settings: Settings, db: asyncpg.Pool
) -> None:
    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with cli_session(settings.database_url or "") as session:
            await enqueue(session, "mail.send", {"message_id": 1})
            raise Undo
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs") == 0
    async with cli_session(settings.database_url or "") as session:
        await enqueue(session, "idempotency.purge", {"timestamp": 0}, queueing_lock="only-one")
        assert (
            await enqueue(session, "idempotency.purge", {"timestamp": 0}, queueing_lock="only-one")
            is None
        )
    assert await db.fetchval("SELECT count(*) FROM procrastinate_jobs") == 1


async def _leaver(factory: Factory, db: asyncpg.Pool, code: str) -> int:
    school = await factory.school()
    student = await db.fetchval(
        """INSERT INTO students (school_id, student_code, full_name, grade, status)
           VALUES ($1, $2, 'Lò Văn Rời', 9, 'left') RETURNING id""",
        school,
        code,
    )
    await db.execute(
        "UPDATE students SET left_at = now() - interval '3 years' WHERE id = $1", student
    )
    return int(student)


async def _name(db: asyncpg.Pool, student: int) -> str:
    return str(await db.fetchval("SELECT full_name FROM students WHERE id = $1", student))


async def test_a_periodic_job_run_twice_in_one_period_does_its_work_once(
    settings: Settings, db: asyncpg.Pool, factory: Factory
) -> None:
    runtime = Runtime(settings=settings)
    night = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)  # 02:30 on 2 December in Vietnam
    first = await _leaver(factory, db, "HS-1")

    done = await run_now(runtime, "privacy.retention", night)
    assert (done.period, done.done) == ("2026-12-02", True)
    assert "1 students pseudonymised" in done.summary
    assert await _name(db, first) != "Lò Văn Rời"

    # Someone else becomes due; the same night's run again does nothing.
    second = await _leaver(factory, db, "HS-2")
    again = await run_now(runtime, "privacy.retention", night.replace(hour=22))
    assert (again.period, again.done) == ("2026-12-02", False)
    assert await _name(db, second) == "Lò Văn Rời"

    # Two runs of one period at once: one works, the other waits for it and does nothing.
    both = await asyncio.gather(
        run_now(runtime, "privacy.retention", datetime(2026, 12, 2, 19, 30, tzinfo=UTC)),
        run_now(runtime, "privacy.retention", datetime(2026, 12, 2, 20, 0, tzinfo=UTC)),
    )
    assert sorted(o.done for o in both) == [False, True]
    assert await _name(db, second) != "Lò Văn Rời"
    assert await db.fetchval("SELECT count(*) FROM job_runs WHERE job = 'privacy.retention'") == 2
    await runtime.close()


async def test_the_scheduler_and_the_command_line_share_the_period(
    settings: Settings, db: asyncpg.Pool, factory: Factory, database_url: str
) -> None:
    """The job as the worker runs it (deferred by procrastinate for a scheduled time, twice,
    as two workers' deferrers might), then `devicetrack jobs run` the same day."""
    student = await _leaver(factory, db, "HS-3")
    scheduled = int(datetime.now(UTC).timestamp())
    async with cli_session(database_url) as session:
        for _ in range(2):
            await enqueue(session, "privacy.retention", {"timestamp": scheduled})
    await run_jobs(settings)
    assert await _name(db, student) != "Lò Văn Rời"
    # This job's runs: the worker also defers any other periodic job whose time has just
    # passed (the morning digests at 07:00 Vietnam time made it 3 in a run at 00:06 UTC).
    runs = "SELECT count(*) FROM job_runs WHERE job = 'privacy.retention'"
    assert await db.fetchval(runs) == 1
    statuses = await db.fetch("SELECT status FROM procrastinate_jobs")
    assert statuses == []  # both ran and succeeded (and were deleted); one did the work

    later = await _leaver(factory, db, "HS-4")
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["jobs", "run", "privacy.retention"],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    assert "already done for this period" in result.output
    assert await _name(db, later) == "Lò Văn Rời"
    listed = await asyncio.to_thread(
        CliRunner().invoke, main, ["jobs", "list"], env={"DATABASE_URL": database_url}
    )
    assert listed.exit_code == 0, listed.output
    assert "privacy.retention: daily at 02:30 Vietnam time" in listed.output
    today = Schedule(Every.DAY, time(2, 30)).period(datetime.now(UTC))
    assert f"last: {today}" in listed.output and "1 students pseudonymised" in listed.output
    assert "db.nightly_backup (off)" in listed.output
    unknown = await asyncio.to_thread(
        CliRunner().invoke, main, ["jobs", "run", "nope"], env={"DATABASE_URL": database_url}
    )
    assert unknown.exit_code == 1 and "no periodic job 'nope'" in unknown.output


def test_every_periodic_job_has_a_distinct_name() -> None:
    assert len({j.name for j in PERIODIC}) == len(PERIODIC)

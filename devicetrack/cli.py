"""The `devicetrack` command: serve, demo, worker, jobs list/run, db upgrade/downgrade/backup/
restore, users create, privacy sweep, labels, i18n extract/compile."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click

from devicetrack.auth.values import Role
from devicetrack.config import Settings
from devicetrack.db import migrate
from devicetrack.labels.values import TemplateName


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield the database URL: DATABASE_URL, or an embedded PostgreSQL started for the
    duration of the command and stopped on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    from devicetrack.db.embedded import EmbeddedVersionMismatch, start_embedded, stop_embedded

    click.echo(f"Starting the embedded PostgreSQL in {settings.data_dir} …")
    try:
        url, server = start_embedded(settings.data_dir)
    except EmbeddedVersionMismatch as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield url
    finally:
        stop_embedded(server)


@click.group()
def main() -> None:
    """devicetrack: donated devices from donor to school to student and back."""


# How every server of ours runs uvicorn (the tests' live servers use these too).
UVICORN_OPTIONS: dict[str, object] = {
    "access_log": False,  # measured: uvicorn's access log halves throughput
    # uvicorn would otherwise take the client from X-Forwarded-For of any peer on 127.0.0.1,
    # so anyone on the machine could pose as any address. The app reads that header itself,
    # and only from DEVICETRACK_TRUSTED_PROXIES (auth/client_address.py).
    "proxy_headers": False,
    "log_level": "info",
}


NO_WORKER = click.option(
    "--no-worker",
    is_flag=True,
    help="Leave the jobs (email, nightly backup, retention) to `devicetrack worker` processes.",
)


def _describe_jobs(settings: Settings, url: str) -> None:
    from devicetrack.db.backup import nightly_dir
    from devicetrack.worker import BACKUP, periodic_jobs, runtime_for

    runtime = runtime_for(settings, url)
    for job in periodic_jobs(runtime):
        where = f" in {nightly_dir(settings)}" if job is BACKUP else ""
        click.echo(f"  job {job.name}: {job.schedule.describe()}{where}")
    if settings.smtp_url is None:
        click.echo("  email: no DEVICETRACK_SMTP_URL, so mail goes to /admin/outbox and the log")


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _serve(
    settings: Settings, url: str, host: str, port: int, workers: int, *, jobs: bool = True
) -> None:
    import uvicorn

    from devicetrack.jobs.runner import InProcessWorker
    from devicetrack.worker import build, runtime_for

    if not os.environ.get("DEVICETRACK_PUBLIC_URL"):
        # Links in emails and on invitation sheets point at this server unless told where
        # people reach it (a proxy, a domain name).
        os.environ["DEVICETRACK_PUBLIC_URL"] = f"http://{host}:{port}"
        settings = replace(settings, public_url=os.environ["DEVICETRACK_PUBLIC_URL"])
    worker = None
    if jobs:
        runtime = runtime_for(settings, url)
        worker = InProcessWorker(lambda: (build(runtime), runtime))
        worker.start()
        click.echo("The job worker runs in this process (--no-worker to run it apart):")
        _describe_jobs(settings, url)
    # Workers are separate processes: they read the URL from the environment.
    os.environ["DATABASE_URL"] = url
    # uvicorn ends on SIGTERM by raising the signal again once it has stopped serving; as an
    # exception it lets the job worker finish its jobs and the embedded server stop below.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(
            "devicetrack.asgi:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **UVICORN_OPTIONS,  # type: ignore[arg-type]  # uvicorn types each option; a dict of them is object
        )
    finally:
        if worker is not None:
            worker.stop()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--no-migrate", is_flag=True, help="Do not run migrations before serving.")
@NO_WORKER
def serve(host: str, port: int, workers: int, no_migrate: bool, no_worker: bool) -> None:
    """Migrate the database and serve the API (and run the job worker, unless --no-worker)."""
    settings = Settings.from_env()
    with database(settings) as url:
        if not no_migrate:
            migrate.upgrade(url)
        _serve(settings, url, host, port, workers, jobs=not no_worker)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--load-only", is_flag=True, help="Load the demo data and exit.")
@NO_WORKER
def demo(host: str, port: int, load_only: bool, no_worker: bool) -> None:
    """Migrate, load the demo data if the database is empty, and serve."""
    from devicetrack.demo.loader import DEMO_LOGINS, DEMO_PASSWORD, load_demo

    settings = Settings.from_env()
    with database(settings) as url:
        migrate.upgrade(url)
        loaded = asyncio.run(load_demo(url))
        click.echo("Demo data loaded." if loaded else "Database already has data; kept it.")
        click.echo(f"\ndevicetrack demo on http://{host}:{port}  (API docs: /schema)")
        click.echo(f"Demo logins (password {DEMO_PASSWORD!r}, demo mode only):")
        for email, role in DEMO_LOGINS:
            click.echo(f"  {role:<17} {email}")
        if not load_only:
            _serve(settings, url, host, port, 1, jobs=not no_worker)


@main.command()
def worker() -> None:
    """Run the job worker and the scheduler of periodic jobs until stopped (Ctrl+C or
    SIGTERM lets running jobs finish). Any number may run, on any machine."""
    from devicetrack.jobs.runner import work
    from devicetrack.worker import build, runtime_for

    settings = Settings.from_env()
    with database(settings) as url:
        runtime = runtime_for(settings, url)
        click.echo("devicetrack worker:")
        _describe_jobs(settings, url)
        asyncio.run(work(build(runtime), runtime))


@main.group()
def jobs() -> None:
    """Periodic jobs: list them, or run one now."""


@jobs.command("list")
def jobs_list() -> None:
    """Every periodic job, its schedule (Vietnam time) and its latest period done."""
    from devicetrack.worker import PERIODIC, backup_enabled, last_runs, runtime_for

    settings = Settings.from_env()
    with database(settings) as url:
        runtime = runtime_for(settings, url)
        done = asyncio.run(last_runs(runtime))
    for job in PERIODIC:
        state = "" if job.name != "db.nightly_backup" or backup_enabled(runtime) else " (off)"
        click.echo(f"{job.name}{state}: {job.schedule.describe()} — {job.about}")
        if job.name in done:
            period, at, summary = done[job.name]
            click.echo(f"    last: {period} (done {at:%Y-%m-%d %H:%M} UTC) {summary}")


@jobs.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Do the periodic job NAME's work for the current period now, unless it was done."""
    from devicetrack.worker import UnknownJob, run_now, runtime_for

    settings = Settings.from_env()
    with database(settings) as url:
        migrate.upgrade(url)
        try:
            outcome = asyncio.run(run_now(runtime_for(settings, url), name))
        except UnknownJob:
            click.echo(f"error: no periodic job {name!r} (see `devicetrack jobs list`)", err=True)
            sys.exit(1)
    click.echo(f"{outcome.job} for {outcome.period}: {outcome.summary}")


@main.group()
def db() -> None:
    """Database migrations, backup and restore."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    with database(Settings.from_env()) as url:
        migrate.upgrade(url, revision)
        click.echo(f"Database at {revision}.")


@db.command("downgrade")
@click.option("--revision", required=True)
def db_downgrade(revision: str) -> None:
    with database(Settings.from_env()) as url:
        migrate.downgrade(url, revision)
        click.echo(f"Database at {revision}.")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(path: Path) -> None:
    """Back the whole database up to PATH (pg_dump's custom format)."""
    from devicetrack.db.backup import BackupError, backup

    settings = Settings.from_env()
    with database(settings) as url:
        try:
            written = backup(url, path, embedded=settings.database_url is None)
        except BackupError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    click.echo(f"Backed up to {written} ({written.stat().st_size:,} bytes).")


@db.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that is not empty.")
def db_restore(path: Path, force: bool) -> None:
    """Restore a backup from PATH into an empty database (or, with --force, in place of
    everything in it), in one transaction."""
    from devicetrack.db.backup import BackupError, restore

    settings = Settings.from_env()
    with database(settings) as url:
        try:
            restore(url, path, force=force, embedded=settings.database_url is None)
        except BackupError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    click.echo(f"Restored {path}.")


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--full-name", default=None)
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
)
@click.option("--province", default=None, help="Province code (province_officer).")
@click.option("--school", "schools", multiple=True, type=int, help="School id (repeatable).")
@click.option("--donor", default=None, type=int, help="Donor id (donor).")
@click.password_option(envvar="DEVICETRACK_PASSWORD")
def users_create(
    email: str,
    full_name: str | None,
    role: str,
    province: str | None,
    schools: tuple[int, ...],
    donor: int | None,
    password: str,
) -> None:
    """Create a user (the first admin, typically)."""
    from devicetrack.auth.cli import create_user
    from devicetrack.errors import DomainError
    from devicetrack.i18n import english

    with database(Settings.from_env()) as url:
        migrate.upgrade(url)
        try:
            user_id = asyncio.run(
                create_user(
                    url, email, full_name or email, role, province, list(schools), donor, password
                )
            )
        except DomainError as exc:
            details = "; ".join(f"{e.field}: {english(e.message)}" for e in exc.errors)
            click.echo(f"error: {exc} {details}", err=True)
            sys.exit(1)
        click.echo(f"Created user {user_id} ({email}, {role}).")


@main.group()
def privacy() -> None:
    """Students' personal data: retention."""


@privacy.command("sweep")
def privacy_sweep() -> None:
    """Pseudonymise students who left or graduated more than DEVICETRACK_RETENTION_MONTHS
    (default 24) months ago, exactly as erasure does. Safe to run again."""
    from devicetrack.students.retention import run_sweep

    settings = Settings.from_env()
    with database(settings) as url:
        migrate.upgrade(url)
        result = asyncio.run(run_sweep(url, settings.retention_months))
    click.echo(
        f"Pseudonymised {result.pseudonymised} students who left or graduated more than "
        f"{settings.retention_months} months ago."
    )
    if result.skipped:
        click.echo(f"{result.skipped} more still hold a device; they are left for the next run.")


@main.group()
def i18n() -> None:
    """The message catalogues (devicetrack/locale/<lang>/LC_MESSAGES/devicetrack.po)."""


@i18n.command("extract")
def i18n_extract() -> None:
    """Bring every catalogue in step with the code and templates: new messages added
    untranslated, messages no longer used dropped, translations kept."""
    from devicetrack.i18n import SOURCE_LANGUAGE
    from devicetrack.i18n.catalogues import extract

    for lang, (messages, untranslated) in extract().items():
        if lang == SOURCE_LANGUAGE:
            click.echo(f"{lang}: {messages} messages (their ids are this language)")
        else:
            click.echo(f"{lang}: {messages} messages, {untranslated} untranslated")


@i18n.command("compile")
def i18n_compile() -> None:
    """Write each catalogue's .mo beside its .po (the app compiles a .po in memory when its
    .mo is missing or older)."""
    from devicetrack.i18n.catalogues import compile_all

    for path in compile_all():
        click.echo(f"Wrote {path}")


@main.command()
@click.option("--donation", type=int, help="Print the devices of this donation.")
@click.option("--school", type=int, help="Print the devices held by this school.")
@click.option("--label-batch", type=int, help="Print a reserved label batch.")
@click.option(
    "--template",
    default=TemplateName.AVERY_L7651.value,
    show_default=True,
    type=click.Choice([t.value for t in TemplateName]),
)
@click.option("--skip", default=0, show_default=True, help="Positions already used.")
@click.option("--copies", default=1, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def labels(
    donation: int | None,
    school: int | None,
    label_batch: int | None,
    template: str,
    skip: int,
    copies: int,
    output: str,
) -> None:
    """Print a PDF sheet of labels, with a progress bar for large runs."""
    from devicetrack.labels.cli import print_labels

    with database(Settings.from_env()) as url:
        count = asyncio.run(
            print_labels(
                url,
                donation=donation,
                school=school,
                label_batch=label_batch,
                template=template,
                skip=skip,
                copies=copies,
                output=output,
            )
        )
    click.echo(f"Wrote {count} labels to {output}.")


if __name__ == "__main__":
    main()

"""Backup and restore: `devicetrack db backup PATH` writes the whole database in pg_dump's
custom format, `devicetrack db restore PATH` brings it back into an empty database (a
non-empty one only with --force, in one transaction), and the embedded default keeps a
nightly backup for 7 days. Real data first (devices with their history, students, loans,
the access log), then every table's row count and a checksum of the rows compared."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner, Result
from croniter import croniter
from litestar.testing import AsyncTestClient

from devicetrack.app import create_app
from devicetrack.cli import main
from devicetrack.config import Settings
from devicetrack.db.backup import (
    NIGHTLY_AT,
    connection,
    nightly_backup,
    nightly_dir,
    nightly_enabled,
    tool_sets,
)
from devicetrack.worker import BACKUP
from tests.database import asyncpg_dsn, with_database
from tests.lifecycle_helpers import API, Scene, make_scene

# Tables whose rows are compared one by one (md5 of all rows in id order), not only counted.
CHECKSUMMED = ("devices", "device_events", "students", "assignments", "student_access_log")


async def _cli(*args: str, database_url: str) -> Result:
    # The command runs its own event loop, as from a terminal: in a thread here.
    return await asyncio.to_thread(
        CliRunner().invoke, main, list(args), env={"DATABASE_URL": database_url}
    )


async def _contents(archive: Path) -> subprocess.CompletedProcess[str]:
    """pg_restore --list: the archive's table of contents."""
    pg_restore = tool_sets(0, False)[-1]["pg_restore"]  # the newest reads every archive
    return await asyncio.to_thread(
        subprocess.run, [pg_restore, "--list", str(archive)], capture_output=True, text=True
    )


async def _snapshot(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        counts = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
        sums = {
            t: await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {t} t"
            )
            for t in CHECKSUMMED
        }
        sequences = {
            r["name"]: await conn.fetchval(f"SELECT last_value FROM {r['name']}")
            for r in await conn.fetch(
                "SELECT sequencename AS name FROM pg_sequences WHERE schemaname = 'public'"
            )
        }
        schema = {
            "triggers": sorted(
                r[0]
                for r in await conn.fetch("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ),
            "indexes": sorted(
                r[0]
                for r in await conn.fetch(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
                )
            ),
            "constraints": sorted(
                r[0]
                for r in await conn.fetch(
                    """SELECT conname FROM pg_constraint c
                         JOIN pg_namespace n ON n.oid = c.connamespace
                        WHERE n.nspname = 'public'"""
                )
            ),
            "functions": sorted(
                r[0]
                for r in await conn.fetch(
                    """SELECT p.proname FROM pg_proc p
                         JOIN pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname = 'public'"""
                )
            ),
        }
        return {"counts": counts, "sums": sums, "sequences": sequences, "schema": schema}
    finally:
        await conn.close()


@pytest.fixture
async def empty_database(db: asyncpg.Pool, database_url: str) -> AsyncIterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    name = f"devicetrack_restore_{uuid.uuid4().hex[:10]}"
    await db.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(database_url, name)
    finally:
        await db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _story(client: AsyncTestClient, db: asyncpg.Pool, factory: Any) -> tuple[Scene, str]:
    """Devices with a history, students, a consent, a loan and its return, a lost device and
    reads in the access log, all through the API."""
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.at_school(tags[:3])
    lan = await scene.consenting_student(full_name="Lò Thị Lan")
    await scene.student(full_name="Giàng A Sử", status="left")
    loan = await scene.lend(tags[0], lan, note="cho em Lan mượn")
    back = await client.post(
        f"{API}/assignments/{loan['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "fair", "wiped": True},
    )
    assert back.status_code == 200, back.text
    await scene.lend(tags[1], lan)
    await scene.act(scene.officer, tags[2], "report-lost", note="mất ở trường")
    read = await client.get(f"{API}/students/{lan}", headers=scene.staff_a.headers)
    assert read.status_code == 200
    return scene, tags[0]


async def test_backup_then_restore_into_an_empty_database_gives_the_same_data(
    client, db, factory, database_url, empty_database, tmp_path
) -> None:
    scene, tag = await _story(client, db, factory)
    before = await _snapshot(database_url)
    assert before["counts"]["device_events"] >= 10 and before["counts"]["student_access_log"]

    archive = tmp_path / "nested" / "devicetrack.dump"
    made = await _cli("db", "backup", str(archive), database_url=database_url)
    assert made.exit_code == 0, made.output
    assert f"Backed up to {archive}" in made.output
    assert archive.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert not list(tmp_path.rglob("*.partial"))

    restored = await _cli("db", "restore", str(archive), database_url=empty_database)
    assert restored.exit_code == 0, restored.output
    after = await _snapshot(empty_database)
    assert after["counts"] == before["counts"]
    assert after["sums"] == before["sums"]
    assert after["sequences"] == before["sequences"]
    assert after["schema"] == before["schema"]

    # The restored history is as append-only as the original.
    conn = await asyncpg.connect(asyncpg_dsn(empty_database))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("DELETE FROM device_events")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("UPDATE student_access_log SET route = 'x'")
    finally:
        await conn.close()

    # The service runs on the copy: the same token signs in, the same history reads back,
    # and a new device takes the next tag (the sequences came back too).
    original = await client.get(f"{API}/devices/{tag}/events", headers=scene.officer.headers)
    settings = Settings(database_url=empty_database, auth_cache_seconds=0)
    async with AsyncTestClient(app=create_app(settings)) as copy:
        events = await copy.get(f"{API}/devices/{tag}/events", headers=scene.officer.headers)
        assert events.status_code == 200, events.text
        assert events.json() == original.json()
        added = await copy.post(
            f"{API}/donations/{scene.donation_id}/devices",
            headers=scene.officer.headers,
            json=[{"kind": "laptop", "serial": "AFTER-RESTORE-1"}],
        )
        assert added.status_code == 201, added.text
        assert added.json()["asset_tags"][0].startswith("DT11-000005-")


async def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    client, db, factory, database_url, empty_database, tmp_path
) -> None:
    await _story(client, db, factory)
    archive = tmp_path / "devicetrack.dump"
    assert (await _cli("db", "backup", str(archive), database_url=database_url)).exit_code == 0
    before = await _snapshot(database_url)

    # Into the live database itself: refused, and nothing in it changed.
    refused = await _cli("db", "restore", str(archive), database_url=database_url)
    assert refused.exit_code == 1
    assert "is not empty" in refused.output and "--force" in refused.output
    assert await _snapshot(database_url) == before

    # A copy that then diverges: --force replaces everything in it with the backup.
    assert (await _cli("db", "restore", str(archive), database_url=empty_database)).exit_code == 0
    conn = await asyncpg.connect(asyncpg_dsn(empty_database))
    try:
        await conn.execute(
            "INSERT INTO donors (name, short_name, kind) VALUES ('Added later', 'AL', 'other')"
        )
        await conn.execute("CREATE TABLE leftover (id int PRIMARY KEY)")
    finally:
        await conn.close()
    again = await _cli("db", "restore", str(archive), database_url=empty_database)
    assert again.exit_code == 1 and "is not empty" in again.output
    forced = await _cli("db", "restore", "--force", str(archive), database_url=empty_database)
    assert forced.exit_code == 0, forced.output
    assert await _snapshot(empty_database) == before

    # A backup cut short is refused before anything is touched.
    cut = tmp_path / "cut.dump"
    cut.write_bytes(archive.read_bytes()[:2000])
    broken = await _cli("db", "restore", "--force", str(cut), database_url=empty_database)
    assert broken.exit_code == 1 and "error:" in broken.output
    assert await _snapshot(empty_database) == before


async def test_a_restore_that_fails_half_way_leaves_the_database_as_it_was(
    client, db, factory, database_url, empty_database, tmp_path
) -> None:
    """The archive's table of contents reads, its data ends early: the forced restore has
    already dropped everything in its transaction, and rolls it all back."""
    await _story(client, db, factory)
    archive = tmp_path / "devicetrack.dump"
    assert (await _cli("db", "backup", str(archive), database_url=database_url)).exit_code == 0
    assert (await _cli("db", "restore", str(archive), database_url=empty_database)).exit_code == 0
    before = await _snapshot(empty_database)
    data = archive.read_bytes()
    cut = tmp_path / "cut.dump"
    cut.write_bytes(data[: len(data) * 9 // 10])
    assert (await _contents(cut)).returncode == 0  # the contents read; the data does not

    failed = await _cli("db", "restore", "--force", str(cut), database_url=empty_database)
    assert failed.exit_code == 1
    assert "rolled back" in failed.output
    assert await _snapshot(empty_database) == before


async def test_nightly_backup_keeps_seven_days(client, db, factory, database_url, tmp_path) -> None:
    await _story(client, db, factory)
    today = date(2026, 3, 10)
    for day in ("2026-03-01", "2026-03-03", "2026-03-04", "2026-03-09"):
        (tmp_path / f"devicetrack-{day}.dump").write_bytes(b"old")
    (tmp_path / "devicetrack-2026-03-09.dump.partial").write_bytes(b"crashed")
    (tmp_path / "notes.txt").write_text("not a backup")

    written = await nightly_backup(database_url, tmp_path, 7, embedded=False, today=today)
    assert written == tmp_path / "devicetrack-2026-03-10.dump"
    assert "TABLE DATA public device_events" in (await _contents(written)).stdout
    # Seven days kept, today's included: the 4th to the 10th.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "devicetrack-2026-03-04.dump",
        "devicetrack-2026-03-09.dump",
        "devicetrack-2026-03-10.dump",
        "notes.txt",
    ]
    # Once a day: a second run that night keeps the backup it took.
    stamp = os.stat(written)
    assert await nightly_backup(database_url, tmp_path, 7, embedded=False, today=today) == written
    assert os.stat(written).st_mtime_ns == stamp.st_mtime_ns


def test_the_nightly_backup_runs_at_two_in_vietnam_for_the_embedded_default(
    tmp_path: Path,
) -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text)

    # The job runner's periodic job (devicetrack/worker.py): procrastinate reads cron in
    # UTC, and 02:00 in Vietnam is 19:00 UTC the evening before.
    assert NIGHTLY_AT.hour == 2
    schedule = BACKUP.schedule
    assert schedule.at == NIGHTLY_AT and schedule.utc_cron() == "0 19 * * *"
    cron = croniter(schedule.utc_cron(), at("2026-03-10T01:59:00+07:00").astimezone(UTC))
    assert cron.get_next(datetime) == at("2026-03-10T02:00:00+07:00")
    cron = croniter(schedule.utc_cron(), at("2026-03-10T02:00:00+07:00").astimezone(UTC))
    assert cron.get_next(datetime) == at("2026-03-11T02:00:00+07:00")
    # The run of 19:00 UTC on 10 March is the night of 11 March in Vietnam: its file is
    # devicetrack-2026-03-11.dump.
    assert schedule.period(datetime(2026, 3, 10, 19, 0, tzinfo=UTC)) == "2026-03-11"
    assert schedule.period(datetime(2026, 3, 10, 16, 59, tzinfo=UTC)) == "2026-03-10"
    assert schedule.period(at("2026-03-10T23:59:00+07:00")).endswith("-10")

    embedded = Settings(data_dir=tmp_path / "pgdata")
    assert nightly_enabled(embedded)
    assert nightly_dir(embedded) == tmp_path / "pgdata-backups"
    assert not nightly_enabled(Settings(database_url="postgresql://x/y"))
    assert nightly_enabled(Settings(database_url="postgresql://x/y", nightly_backup=True))
    assert not nightly_enabled(Settings(nightly_backup=False))


def test_the_password_never_reaches_a_command_line() -> None:
    """Every user of the machine can read a process's arguments: the password goes in the
    tools' environment instead."""
    conn = connection(
        "postgresql+asyncpg://dt:s%40cret@db.example:5433/devicetrack?sslmode=require"
    )
    assert conn.uri == "postgresql://dt@db.example:5433/devicetrack?sslmode=require"
    assert conn.env["PGPASSWORD"] == "s@cret"
    assert conn.database == "devicetrack"


def test_the_nightly_backup_is_configured_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVICETRACK_BACKUP_DIR", str(tmp_path / "copies"))
    monkeypatch.setenv("DEVICETRACK_BACKUP_KEEP_DAYS", "14")
    monkeypatch.setenv("DEVICETRACK_NIGHTLY_BACKUP", "0")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings.from_env()
    assert nightly_dir(settings) == tmp_path / "copies"
    assert settings.backup_keep_days == 14
    assert not nightly_enabled(settings)  # the embedded default, switched off
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/devicetrack")
    monkeypatch.setenv("DEVICETRACK_NIGHTLY_BACKUP", "1")
    assert nightly_enabled(Settings.from_env())

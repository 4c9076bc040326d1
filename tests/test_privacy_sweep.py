"""Retention (Decree 356/2025): `devicetrack privacy sweep` pseudonymises the students who
left or graduated more than DEVICETRACK_RETENTION_MONTHS (default 24) months ago, by the
same erasure as DELETE /students/{id}, and running it again changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from click.testing import CliRunner, Result

from devicetrack.cli import main
from devicetrack.students.service import ERASED
from tests.lifecycle_helpers import API, make_scene


async def _sweep(database_url: str, **env: str) -> Result:
    # The command runs its own event loop, as from a terminal: in a thread here.
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, main, ["privacy", "sweep"], env={"DATABASE_URL": database_url} | env
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result


async def test_sweep_pseudonymises_only_those_gone_longer_than_retention(
    client, db, factory, database_url
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])

    async def student(name: str, status: str | None, months_ago: int | None) -> dict[str, Any]:
        created = await scene.student(full_name=name, guardian_name=f"Mẹ của {name}")
        await scene.consent(created["id"])
        if status:
            changed = await client.patch(
                f"{API}/students/{created['id']}",
                headers=scene.staff_a.headers,
                json={"status": status},
            )
            assert changed.status_code == 200, changed.text
            # The database noted when the student left, on the API's path as on any other.
            assert await db.fetchval(
                "SELECT now() - left_at < interval '1 minute' FROM students WHERE id = $1",
                created["id"],
            )
        if months_ago is not None:
            # The clock: the leaving happened that many months ago.
            await db.execute(
                "UPDATE students SET left_at = now() - make_interval(months => $2) WHERE id = $1",
                created["id"],
                months_ago,
            )
        return created

    left_long_ago = await student("Lò Văn Cũ", "left", 25)
    graduated_long_ago = await student("Giàng Thị Xưa", "graduated", 30)
    left_recently = await student("Lò Thị Mới", "left", 23)
    active = await student("Sùng A Đang", None, None)
    # An active student who once left and came back is not due: coming back clears left_at.
    returned = await student("Vàng A Về", "left", 40)
    back = await client.patch(
        f"{API}/students/{returned['id']}", headers=scene.staff_a.headers, json={"status": "active"}
    )
    assert back.status_code == 200, back.text
    # A loan that stays with the active student: its history must survive untouched.
    await scene.lend(tag, active["id"])
    events_before = await db.fetch("SELECT * FROM device_events ORDER BY id")

    result = await _sweep(database_url)
    assert "Pseudonymised 2 students" in result.output
    assert "24 months" in result.output

    async def read(student_id: int) -> dict[str, Any]:
        response = await client.get(f"{API}/students/{student_id}", headers=scene.staff_a.headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    for gone, status in ((left_long_ago, "left"), (graduated_long_ago, "graduated")):
        shown = await read(gone["id"])
        # Exactly what erasure leaves: the code, grade and status; no name, no guardian.
        assert shown["erased"] is True and shown["full_name"] == ERASED
        assert shown["status"] == status
        assert "guardian_name" not in shown and shown["student_code"] == gone["student_code"]
        consents = await client.get(
            f"{API}/students/{gone['id']}/consents", headers=scene.staff_a.headers
        )
        assert all(c["withdrawn_at"] and "given_by" not in c for c in consents.json()["items"]), (
            consents.text
        )
    for kept in (left_recently, active, returned):
        shown = await read(kept["id"])
        assert shown["erased"] is False and shown["full_name"] == kept["full_name"]
        assert shown["guardian_name"] == kept["guardian_name"]
    assert await db.fetch("SELECT * FROM device_events ORDER BY id") == events_before

    # Again: nothing more to do, and the erased stay as they were (same erasure time).
    erased_at = await db.fetch("SELECT id, erased_at FROM students ORDER BY id")
    again = await _sweep(database_url)
    assert "Pseudonymised 0 students" in again.output
    assert await db.fetch("SELECT id, erased_at FROM students ORDER BY id") == erased_at

    # The retention is configurable: at 22 months the recent leaver is due too.
    shorter = await _sweep(database_url, DEVICETRACK_RETENTION_MONTHS="22")
    assert "Pseudonymised 1 students" in shorter.output and "22 months" in shorter.output
    assert (await read(left_recently["id"]))["erased"] is True
    assert (await read(active["id"]))["erased"] is False
    assert (await read(returned["id"]))["erased"] is False


async def test_a_leaver_still_holding_a_device_is_left_for_the_next_run(
    client, db, factory, database_url
) -> None:
    """Erasure refuses a student who holds a device; the sweep says so and goes on."""
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    holder = await scene.consenting_student(full_name="Lò Văn Giữ")
    gone = await scene.student(full_name="Lò Văn Đi", status="left")
    await scene.lend(tag, holder)
    # Marked as left behind the API's back (the API refuses it while a device is lent).
    await db.execute("UPDATE students SET status = 'left' WHERE id = $1", holder)
    await db.execute("UPDATE students SET left_at = now() - interval '3 years'")

    result = await _sweep(database_url)
    assert "Pseudonymised 1 students" in result.output
    assert "1 more still hold a device" in result.output
    erased = dict(await db.fetch("SELECT id, erased_at IS NOT NULL FROM students"))
    assert erased == {holder: False, gone["id"]: True}

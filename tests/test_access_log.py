"""The child's access log (Law 91/2025, Decree 356/2025): every answer that carries a
student's personal fields writes who read which student, when and through which route, one
row per student shown; the log is append-only, only admins list it, and the student's export
includes it."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from devicetrack.common.clock import local_today
from tests.factories import assert_problem
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser, pdf_text


async def _log(db: asyncpg.Pool) -> list[tuple[int, int, str]]:
    """(user, student, route) of every row, oldest first."""
    rows = await db.fetch("SELECT user_id, student_id, route FROM student_access_log ORDER BY id")
    return [(r["user_id"], r["student_id"], r["route"]) for r in rows]


async def test_api_reads_of_personal_fields_are_logged_one_row_per_student(
    client, db, factory
) -> None:
    scene = await make_scene(client, db, factory)
    lan = await scene.student(full_name="Lò Thị Lan")
    mai = await scene.student(full_name="Lò Thị Mai")
    other = await scene.student(scene.school_b, full_name="Giàng A Sử")
    assert await _log(db) == []  # creating a student is not a read

    one = await client.get(f"{API}/students/{lan['id']}", headers=scene.staff_a.headers)
    assert one.json()["full_name"] == "Lò Thị Lan"
    assert await _log(db) == [
        (scene.staff_a.user_id, lan["id"], f"GET /api/v1/students/{lan['id']}")
    ]

    # A list with names: one row per student shown, the route without its query (a search
    # may itself be a name).
    listed = await client.get(
        f"{API}/students", params={"q": "Lò Thị"}, headers=scene.admin.headers
    )
    assert {s["id"] for s in listed.json()["items"]} == {lan["id"], mai["id"]}
    rows = (await _log(db))[1:]
    assert sorted(rows) == sorted(
        [
            (scene.admin.user_id, lan["id"], "GET /api/v1/students"),
            (scene.admin.user_id, mai["id"], "GET /api/v1/students"),
        ]
    )
    # Only the page shown is logged, not the row fetched to know whether more follow.
    paged = await client.get(f"{API}/students", params={"limit": 1}, headers=scene.admin.headers)
    assert paged.json()["next_cursor"] and len(paged.json()["items"]) == 1
    assert (await _log(db))[3:] == [
        (scene.admin.user_id, paged.json()["items"][0]["id"], "GET /api/v1/students")
    ]

    # Answers without names write nothing: the officer sees codes, grades and flags only.
    before = await _log(db)
    officer_view = await client.get(f"{API}/students/{other['id']}", headers=scene.officer.headers)
    assert officer_view.status_code == 200 and "full_name" not in officer_view.json()
    everyone = await client.get(
        f"{API}/students", params={"limit": 1000}, headers=scene.officer.headers
    )
    assert len(everyone.json()["items"]) == 3
    assert await _log(db) == before
    # A refused read writes nothing either.
    assert_problem(
        await client.get(f"{API}/students/{other['id']}", headers=scene.staff_a.headers), 404
    )
    assert await _log(db) == before


async def test_loans_naming_the_student_are_reads_too(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student(full_name="Sùng Thị Dua")
    loan = await scene.lend(tag, student)
    assert await _log(db) == []

    loans = await client.get(f"{API}/assignments", headers=scene.staff_a.headers)
    assert loans.json()["items"][0]["student_name"] == "Sùng Thị Dua"
    single = await client.get(f"{API}/assignments/{loan['id']}", headers=scene.staff_a.headers)
    assert single.json()["student_name"] == "Sùng Thị Dua"
    assert await _log(db) == [
        (scene.staff_a.user_id, student, "GET /api/v1/assignments"),
        (scene.staff_a.user_id, student, f"GET /api/v1/assignments/{loan['id']}"),
    ]
    # The officer's view of the loan carries no name and writes no row.
    officer_view = await client.get(f"{API}/assignments", headers=scene.officer.headers)
    assert "student_name" not in officer_view.json()["items"][0]
    assert len(await _log(db)) == 2


async def test_pages_showing_a_student_are_logged(client, web, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student(full_name="Vàng Thị Chơ")
    bystander = await scene.student(full_name="Lầu Văn Pó")
    await scene.lend(tag, student)

    page = await web.get(f"/students/{student}", headers=browser(scene.staff_a))
    assert page.status_code == 200 and "Vàng Thị Chơ" in page.text
    listing = await web.get(f"/schools/{scene.school_a}/students", headers=browser(scene.staff_a))
    assert listing.status_code == 200 and "Lầu Văn Pó" in listing.text
    device = await web.get(f"/devices/{tag}", headers=browser(scene.staff_a))
    assert device.status_code == 200 and "Vàng Thị Chơ" in device.text
    taking_back = await web.get(f"/devices/{tag}/return", headers=browser(scene.staff_a))
    assert taking_back.status_code == 200 and "Vàng Thị Chơ" in taking_back.text

    staff = scene.staff_a.user_id
    rows = await _log(db)
    assert rows[0] == (staff, student, f"GET /students/{student}")
    assert sorted(rows[1:3]) == sorted(
        [
            (staff, student, f"GET /schools/{scene.school_a}/students"),
            (staff, bystander["id"], f"GET /schools/{scene.school_a}/students"),
        ]
    )
    assert rows[3:] == [
        (staff, student, f"GET /devices/{tag}"),
        (staff, student, f"GET /devices/{tag}/return"),
    ]
    # The officer's device page names nobody and logs nothing.
    officer_page = await web.get(f"/devices/{tag}", headers=browser(scene.officer))
    assert officer_page.status_code == 200 and "Vàng Thị Chơ" not in officer_page.text
    assert len(await _log(db)) == len(rows)


async def test_only_admins_list_the_log(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    lan = await scene.student(full_name="Lò Thị Lan")
    mai = await scene.student(full_name="Lò Thị Mai")
    for reader in (scene.staff_a, scene.admin, scene.staff_a):
        response = await client.get(f"{API}/students/{lan['id']}", headers=reader.headers)
        assert response.status_code == 200
    await client.get(f"{API}/students/{mai['id']}", headers=scene.staff_a.headers)

    # Nobody but an admin, not even the school's own staff; refused before any lookup, so
    # the answer is the same for an id that does not exist.
    for caller in (scene.staff_a, scene.staff_b, scene.officer, scene.officer_other, scene.donor):
        for path in (
            f"{API}/students/{lan['id']}/access-log",
            f"{API}/students/999999/access-log",
            f"{API}/privacy/access-log",
            f"{API}/privacy/access-log?student_id={lan['id']}",
        ):
            body = assert_problem(await client.get(path, headers=caller.headers), 403)
            assert "Lò" not in str(body)
    assert_problem(await client.get(f"{API}/privacy/access-log"), 401)

    admin = scene.admin.headers
    of_lan = await client.get(f"{API}/students/{lan['id']}/access-log", headers=admin)
    assert of_lan.status_code == 200, of_lan.text
    items = of_lan.json()["items"]
    # Newest first, with who read it.
    assert [(i["user_id"], i["user_role"]) for i in items] == [
        (scene.staff_a.user_id, "school_staff"),
        (scene.admin.user_id, "admin"),
        (scene.staff_a.user_id, "school_staff"),
    ]
    assert {i["route"] for i in items} == {f"GET /api/v1/students/{lan['id']}"}
    assert {(i["student_id"], i["student_code"], i["school_id"]) for i in items} == {
        (lan["id"], lan["student_code"], scene.school_a)
    }
    assert all(i["user_name"] and i["at"] for i in items)
    assert_problem(await client.get(f"{API}/students/999999/access-log", headers=admin), 404)

    by_user = await client.get(
        f"{API}/privacy/access-log", params={"user_id": scene.staff_a.user_id}, headers=admin
    )
    assert [i["student_id"] for i in by_user.json()["items"]] == [mai["id"], lan["id"], lan["id"]]
    both = await client.get(
        f"{API}/privacy/access-log",
        params={"user_id": scene.staff_a.user_id, "student_id": mai["id"]},
        headers=admin,
    )
    assert [i["student_id"] for i in both.json()["items"]] == [mai["id"]]
    # One page at a time, the cursor going back in time.
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{API}/privacy/access-log", params=params, headers=admin)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    everything = await db.fetch("SELECT id FROM student_access_log ORDER BY id DESC")
    assert seen == [r["id"] for r in everything]
    # Listing the log reads no personal field: it writes nothing.
    assert len(everything) == 4


async def test_the_students_export_includes_its_access_log(client, web, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    lan = await scene.student(full_name="Lò Thị Lan")
    await client.get(f"{API}/students/{lan['id']}", headers=scene.admin.headers)
    await web.get(f"/students/{lan['id']}", headers=browser(scene.staff_a))

    exported = await client.get(f"{API}/students/{lan['id']}/export", headers=scene.staff_a.headers)
    assert exported.status_code == 200, exported.text
    log = exported.json()["access_log"]
    # Oldest first, this export's own read last.
    assert [(e["user_id"], e["route"]) for e in log] == [
        (scene.admin.user_id, f"GET /api/v1/students/{lan['id']}"),
        (scene.staff_a.user_id, f"GET /students/{lan['id']}"),
        (scene.staff_a.user_id, f"GET /api/v1/students/{lan['id']}/export"),
    ]
    # The page's download for the family (a PDF) carries the same log, its own read included.
    download = await web.get(f"/students/{lan['id']}/export", headers=browser(scene.staff_a))
    assert download.status_code == 200
    text = pdf_text(download.content)
    log_part = text.split("Who has read the student's personal data", 1)[1]
    routes = [line.rsplit(" · ", 1)[-1] for line in log_part.strip().splitlines()]
    assert routes == [
        f"GET /api/v1/students/{lan['id']}",
        f"GET /students/{lan['id']}",
        f"GET /api/v1/students/{lan['id']}/export",
        f"GET /students/{lan['id']}/export",
    ]
    assert (await _log(db))[-1][2] == f"GET /students/{lan['id']}/export"


async def test_the_log_cannot_be_changed_or_removed(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    lan = await scene.student(full_name="Lò Thị Lan")
    await client.get(f"{API}/students/{lan['id']}", headers=scene.staff_a.headers)
    (row,) = await db.fetch("SELECT * FROM student_access_log")
    for sql in (
        "UPDATE student_access_log SET user_id = user_id WHERE id = $1",
        "UPDATE student_access_log SET route = 'nothing' WHERE id = $1",
        "DELETE FROM student_access_log WHERE id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await db.execute(sql, row["id"])
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("TRUNCATE student_access_log")
    # Erasing the student keeps the log (it holds no personal field, only who read whom).
    erased = await client.delete(f"{API}/students/{lan['id']}", headers=scene.staff_a.headers)
    assert erased.status_code == 204, erased.text
    assert [dict(r) for r in await db.fetch("SELECT * FROM student_access_log")] == [dict(row)]


async def test_the_sim_expiry_report_naming_students_is_a_read(client, db, factory) -> None:
    """The SIM report names the students whose tablet's SIM lapses (to admins and the
    school's staff): each such answer writes the access log; the officer's, without names,
    writes nothing."""
    scene = await make_scene(client, db, factory)
    tablet, sim = await scene.intake(
        {"kind": "tablet", "serial": "AL-SIM-T1"},
        {
            "kind": "sim",
            "iccid": "8984040000000000001",
            "plan_expires_on": (local_today() + timedelta(days=10)).isoformat(),
        },
    )
    await scene.act(scene.officer, tablet, "install-sim", sim=sim)
    await scene.at_school([tablet])
    student = await scene.consenting_student(full_name="Giàng Thị Pà")
    await scene.lend(tablet, student)
    before = len(await _log(db))

    officer = await client.get(f"{API}/reports/sim-expiry", headers=scene.officer.headers)
    assert officer.status_code == 200, officer.text
    assert "Giàng Thị Pà" not in officer.text
    assert len(await _log(db)) == before

    staff = await client.get(f"{API}/reports/sim-expiry", headers=scene.staff_a.headers)
    assert staff.status_code == 200, staff.text
    assert "Giàng Thị Pà" in staff.text
    assert (await _log(db))[before:] == [
        (scene.staff_a.user_id, student, "GET /api/v1/reports/sim-expiry")
    ]

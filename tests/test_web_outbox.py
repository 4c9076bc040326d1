"""The routes the outbox (app.js) sends to honour Idempotency-Key as the API does: a lend,
a return, a receipt or a batch of audit scans sent twice with one key is applied once and
answered twice alike. The key belongs to the session's user and is only taken with the
session's CSRF header. Also: a return for a holder who no longer has the device is refused,
the school's snapshot for offline use by role, the service worker, and sign-out clearing
what the phone kept."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Caller, Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, csrf_of


def keyed(caller: Caller, key: str | None = None, *, csrf: bool = True) -> dict[str, str]:
    """What the outbox sends: the session cookie, the page's CSRF token, the action's key."""
    headers = browser(caller) | {"Accept": "application/json"}
    if csrf:
        headers["X-CSRF-Token"] = csrf_of(caller.token)
    if key:
        headers["Idempotency-Key"] = key
    return headers


async def loans_of(db: asyncpg.Pool, tag: str) -> list[asyncpg.Record]:
    return await db.fetch(
        """SELECT a.student_id, a.returned_at, a.condition_in FROM assignments a
             JOIN devices d ON d.id = a.device_id WHERE d.asset_tag = $1 ORDER BY a.id""",
        tag,
    )


async def test_a_lend_and_a_return_sent_twice_are_applied_once(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    staff = scene.staff_a
    body = {"student_id": str(student), "condition": "good"}

    first = await web.post(f"/devices/{tag}/lend.json", data=body, headers=keyed(staff, "lend-1"))
    assert first.status_code == 200, first.text
    assert first.json() == {"next": f"/devices/{tag}?done=Lent."}
    again = await web.post(f"/devices/{tag}/lend.json", data=body, headers=keyed(staff, "lend-1"))
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await loans_of(db, tag)) == 1

    # The same key for another body is refused, as the API refuses it.
    other = await web.post(
        f"/devices/{tag}/lend.json",
        data=body | {"condition": "fair"},
        headers=keyed(staff, "lend-1"),
    )
    assert other.status_code == 422 and "idempotency-key-reused" in other.json()["type"]

    back = {"student_id": str(student), "condition": "fair", "wiped": "1"}
    for _ in range(2):
        taken = await web.post(
            f"/devices/{tag}/return.json", data=back, headers=keyed(staff, "return-1")
        )
        assert taken.status_code == 200, taken.text
        assert taken.json() == {"next": f"/devices/{tag}?done=Taken%20back."}
    [loan] = await loans_of(db, tag)
    assert loan["returned_at"] is not None and loan["condition_in"] == "fair"
    events = [e["action"] for e in await scene.events(tag)]
    assert events.count("assigned") == 1 and events.count("returned") == 1

    # A return with a new key once the device is back: refused, and the refusal is kept.
    for _ in range(2):
        late = await web.post(
            f"/devices/{tag}/return.json", data=back, headers=keyed(staff, "return-2")
        )
        assert (
            late.status_code == 404 and "application/problem+json" in late.headers["content-type"]
        )
    assert late.headers.get("idempotent-replayed") == "true"


async def test_a_refusal_names_the_reason_and_is_kept_for_the_retry(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """The device was lent by someone else meanwhile: the outbox's lend is refused with the
    reason (shown with what to do), the same answer on a retry, and nothing changes."""
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    mine, theirs = await scene.consenting_student(), await scene.consenting_student()
    await scene.lend(tag, theirs, caller=await factory.staff(scene.school_a))
    answers = [
        await web.post(
            f"/devices/{tag}/lend.json",
            data={"student_id": str(mine), "condition": "good"},
            headers=keyed(scene.staff_a, "lend-late"),
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [409, 409]
    assert answers[0].json()["detail"] == answers[1].json()["detail"]
    assert [r["student_id"] for r in await loans_of(db, tag)] == [theirs]

    # A return recorded for a student who no longer holds the device is not applied.
    back = await web.post(
        f"/devices/{tag}/return.json",
        data={"student_id": str(mine), "condition": "good"},
        headers=keyed(scene.staff_a, "return-mine"),
    )
    assert back.status_code == 409, back.text
    assert tag in back.json()["detail"]
    assert [r["returned_at"] for r in await loans_of(db, tag)] == [None]


async def test_the_key_is_taken_only_with_the_sessions_csrf_header(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    body = {"student_id": str(student), "condition": "good"}
    forged = await web.post(
        f"/devices/{tag}/lend.json", data=body, headers=keyed(scene.staff_a, "k", csrf=False)
    )
    assert forged.status_code == 403
    assert await loans_of(db, tag) == []
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    # Another user's key of the same name is theirs: it does not replay the first's answer.
    done = await web.post(f"/devices/{tag}/lend.json", data=body, headers=keyed(scene.staff_a, "k"))
    assert done.status_code == 200
    colleague = await factory.staff(scene.school_a)
    theirs = await web.post(f"/devices/{tag}/lend.json", data=body, headers=keyed(colleague, "k"))
    assert theirs.status_code == 409 and "idempotent-replayed" not in theirs.headers


async def test_receipts_and_audit_scans_sent_twice_count_once(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.allocate(tags)
    url = f"/schools/{scene.school_a}/receive.json"
    answers = [
        await web.post(url, json={"asset_tags": tags}, headers=keyed(scene.staff_a, "box-1"))
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert sorted(answers[0].json()["received"]) == sorted(tags)
    received = """SELECT count(*) FROM device_events WHERE action = 'received'"""
    assert await db.fetchval(received) == 2

    audit = await client.post(
        "/api/v1/audits", headers=scene.staff_a.headers, json={"school_id": scene.school_a}
    )
    assert audit.status_code == 201, audit.text
    scans = {"scans": [{"code": t} for t in tags]}
    for _ in range(2):
        sent = await web.post(
            f"/audits/{audit.json()['id']}/scans.json",
            json=scans,
            headers=keyed(scene.staff_a, "scans-1"),
        )
        assert sent.status_code == 200 and sent.json()["found_so_far"] == 2
    assert await db.fetchval("SELECT count(*) FROM audit_scans") == 2


async def snapshot(
    web: AsyncTestClient, caller: Caller, school: int, etag: str | None = None
) -> Any:
    headers = browser(caller) | ({"If-None-Match": etag} if etag else {})
    return await web.get(f"/schools/{school}/offline.json", headers=headers)


async def snapshot_reads(db: asyncpg.Pool) -> list[tuple[int, int]]:
    """(user, student) of each read the snapshots logged, in order."""
    rows = await db.fetch(
        "SELECT user_id, student_id FROM student_access_log"
        " WHERE route LIKE '%/offline.json' ORDER BY id"
    )
    return [(r["user_id"], r["student_id"]) for r in rows]


async def test_the_schools_snapshot_for_offline_use_by_role(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.at_school(tags)
    minh = await scene.consenting_student(full_name="Lò Văn Minh")
    await scene.lend(tags[0], minh)

    staff = await snapshot(web, scene.staff_a, scene.school_a)
    assert staff.status_code == 200, staff.text
    data = staff.json()
    holders = {d["asset_tag"]: d["student_id"] for d in data["devices"]}
    assert holders == {tags[0]: minh, tags[1]: None} and data["complete"] is True
    assert [s["full_name"] for s in data["students"]] == ["Lò Văn Minh"]
    assert staff.headers["cache-control"] == "private, no-cache"
    # Each student listed is a read, logged like the lend page's.
    logged = await db.fetch("SELECT student_id, route FROM student_access_log")
    assert [(r["student_id"], r["route"]) for r in logged][-1][0] == minh

    officer = await snapshot(web, scene.officer, scene.school_a)
    assert officer.status_code == 200
    assert all("full_name" not in s or s["full_name"] is None for s in officer.json()["students"])
    assert (await snapshot(web, scene.staff_b, scene.school_a)).status_code in (403, 404)
    assert (await snapshot(web, scene.officer_other, scene.school_a)).status_code in (403, 404)
    assert (await snapshot(web, scene.donor, scene.school_a)).status_code in (403, 404)
    signed_out = await web.get(f"/schools/{scene.school_a}/offline.json")
    assert signed_out.status_code == 401


async def test_an_unchanged_snapshot_answers_304_and_logs_no_reads(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    await scene.at_school(tags)
    minh = await scene.consenting_student(full_name="Lò Văn Minh")
    await scene.lend(tags[0], minh)
    staff = scene.staff_a

    first = await snapshot(web, staff, scene.school_a)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert await snapshot_reads(db) == [(staff.user_id, minh)]

    # Asked again with what the phone holds: nothing new is disclosed, nothing is logged.
    again = await snapshot(web, staff, scene.school_a, etag)
    assert again.status_code == 304, again.text
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "private, no-cache"
    assert (await snapshot(web, staff, scene.school_a, f'"other", W/{etag}')).status_code == 304
    assert await snapshot_reads(db) == [(staff.user_id, minh)]

    # The scope is checked before the ETag: another school's staff, another province's
    # officer and a donor are refused even with the right one, and nothing is logged.
    for outsider in (scene.staff_b, scene.officer_other, scene.donor):
        refused = await snapshot(web, outsider, scene.school_a, etag)
        assert refused.status_code in (403, 404), refused.text
        assert "Lò Văn Minh" not in refused.text
    assert (
        await web.get(f"/schools/{scene.school_a}/offline.json", headers={"If-None-Match": etag})
    ).status_code == 401
    # Another user may read it, but was never sent it: their ETag is their own.
    officer = await snapshot(web, scene.officer, scene.school_a, etag)
    assert officer.status_code == 200 and officer.headers["etag"] != etag
    assert await snapshot_reads(db) == [(staff.user_id, minh)]  # officers see no names

    # A student added: the whole list again, with a new ETag, and its reads logged.
    lan = await scene.consenting_student(full_name="Lò Thị Lan")
    added = await snapshot(web, staff, scene.school_a, etag)
    assert added.status_code == 200, added.text
    assert {s["full_name"] for s in added.json()["students"]} == {"Lò Văn Minh", "Lò Thị Lan"}
    assert added.headers["etag"] != etag
    assert sorted(await snapshot_reads(db)) == sorted(
        [(staff.user_id, minh), (staff.user_id, minh), (staff.user_id, lan)]
    )
    etag = added.headers["etag"]
    assert (await snapshot(web, staff, scene.school_a, etag)).status_code == 304

    # A device lent: who holds it changed, so the snapshot did.
    await scene.lend(tags[1], lan)
    lent = await snapshot(web, staff, scene.school_a, etag)
    assert lent.status_code == 200, lent.text
    assert {d["asset_tag"]: d["student_id"] for d in lent.json()["devices"]} == {
        tags[0]: minh,
        tags[1]: lan,
    }
    assert lent.headers["etag"] not in (etag, added.headers["etag"])
    assert len(await snapshot_reads(db)) == 5


async def test_the_service_worker_the_offline_page_and_sign_out(
    web: AsyncTestClient, factory: Factory
) -> None:
    worker = await web.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert "/static/app." in worker.text and "__SHELL__" not in worker.text
    assert "__MAX_AGE_HOURS__" not in worker.text  # kept pages last as long as a sign-in
    page = await web.get("/login")
    assert 'rel="manifest"' in page.text

    school = await factory.school()
    staff = await factory.staff(school)
    offline = await web.get("/offline", headers=browser(staff))
    assert offline.status_code == 200 and "data-offline-page" in offline.text
    assert (await web.get("/offline")).status_code == 303  # sign in first

    out = await web.post("/logout", data={"_csrf": csrf_of(staff.token)}, headers=browser(staff))
    assert out.status_code == 303
    assert out.headers["clear-site-data"] == '"cache", "storage"'


async def test_a_lend_to_a_student_who_left_meanwhile_is_refused_with_the_reason(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    left = await client.patch(
        f"/api/v1/students/{student}", headers=scene.staff_a.headers, json={"status": "left"}
    )
    assert left.status_code == 200, left.text
    refused = await web.post(
        f"/devices/{tag}/lend.json",
        data={"student_id": str(student), "condition": "good"},
        headers=keyed(scene.staff_a, "lend-left")
        | {"Cookie": f"dt_session={scene.staff_a.token}; dt_lang=vi"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == "Học sinh đang ở trạng thái Đã nghỉ học, không còn đang học."
    assert await loans_of(db, tag) == []

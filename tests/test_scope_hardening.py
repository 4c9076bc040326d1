"""Scope and 500s found by trying the service as an attacker and a careless user would
(issue #10, findings 6–8): the gap report's stock stays inside the caller's scope, a quota's
donation must be one the caller may see, the quota upsert survives PostgreSQL's switch to
generic plans, a deeply nested JSON body is refused cleanly, and a note naming a student
never reaches a province officer or a donor."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import time
from collections.abc import AsyncIterator

import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.app import create_app
from devicetrack.config import Settings
from tests.factories import DIEN_BIEN, LAI_CHAU, assert_problem
from tests.lifecycle_helpers import API, Scene, in_background, lock_waiters, make_scene
from tests.web_helpers import browser


async def _donation(client, caller, donor_id: int, province: str, reference: str) -> int:
    response = await client.post(
        f"{API}/donations",
        headers=caller.headers,
        json={"donor_id": donor_id, "province_code": province, "reference": reference},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


# ---- finding 6: the gap report's stock ------------------------------------------------


async def test_gaps_show_no_stock_outside_the_callers_scope(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    # Lai Châu (12) holds 3 tablets in stock; Điện Biên (11) holds 2.
    other = await _donation(client, scene.officer_other, scene.donor_id, LAI_CHAU, "LC-12")
    response = await client.post(
        f"{API}/donations/{other}/devices",
        headers=scene.officer_other.headers,
        json=[{"kind": "tablet", "serial": f"LC12-{i}"} for i in range(3)],
    )
    assert response.status_code == 201, response.text
    await scene.tablets(2)

    # The admin sees each province's stock: the data the others must not see is there.
    admin = await client.get(f"{API}/reports/gaps?province={LAI_CHAU}", headers=scene.admin.headers)
    assert admin.status_code == 200, admin.text
    assert admin.json()["stock"] == {"tablet": 3}

    # School staff of Điện Biên asking for Lai Châu: 404, as any object outside a scope.
    for caller in (scene.staff_a, scene.officer):
        refused = await client.get(
            f"{API}/reports/gaps?province={LAI_CHAU}", headers=caller.headers
        )
        body = assert_problem(refused, 404)
        assert "stock" not in body and "tablet" not in refused.text

    # Their own province: school staff hold no province stock, so they see none of it.
    own = await client.get(
        f"{API}/reports/gaps?province={DIEN_BIEN}", headers=scene.staff_a.headers
    )
    assert own.status_code == 200, own.text
    assert own.json()["stock"] == {}
    unnamed = await client.get(f"{API}/reports/gaps", headers=scene.staff_a.headers)
    assert unnamed.status_code == 200, unnamed.text
    assert unnamed.json()["stock"] == {}
    # The province's officer still sees the province's own stock.
    officer = await client.get(f"{API}/reports/gaps", headers=scene.officer.headers)
    assert officer.status_code == 200, officer.text
    assert officer.json()["stock"] == {"tablet": 2}


# ---- finding 6: a quota's donation ------------------------------------------------------


async def test_a_quota_names_only_a_donation_of_the_schools_province(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    other = await _donation(client, scene.officer_other, scene.donor_id, LAI_CHAU, "LC-Q")
    url = f"{API}/schools/{scene.school_a}/quotas"
    answers = {}
    for caller in (scene.officer, scene.admin):
        for donation_id in (other, 987_654):
            response = await client.put(
                url,
                headers=caller.headers,
                json={"kind": "laptop", "quantity": 5, "donation_id": donation_id},
            )
            body = assert_problem(response, 422)
            assert [e["field"] for e in body["errors"]] == ["donation_id"]
            answers[(caller.role, donation_id)] = body["detail"].replace(str(donation_id), "N")
    # Another province's donation and a missing one get the same answer: no oracle for ids.
    assert answers[("province_officer", other)] == answers[("province_officer", 987_654)]
    assert await db.fetchval("SELECT count(*) FROM school_quotas") == 0

    ok = await client.put(
        url,
        headers=scene.officer.headers,
        json={"kind": "laptop", "quantity": 5, "donation_id": scene.donation_id},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["items"] == [
        {"kind": "laptop", "quantity": 5, "donation_id": scene.donation_id, "held": 0}
    ]


# ---- finding 7: the quota upsert under generic plans ----------------------------------


@pytest.fixture
async def one_connection_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The app with one database connection in each pool: every request of a test runs its
    statements on the same connection, so a prepared statement is executed often enough
    for PostgreSQL to switch it to a generic plan (after five custom ones)."""
    app = create_app(dataclasses.replace(settings, pool_size=1))
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as one:
        yield one


async def test_quota_upsert_repeats_on_one_connection(
    one_connection_client, client, db, factory
) -> None:
    scene: Scene = await make_scene(client, db, factory)
    url = f"{API}/schools/{scene.school_a}/quotas"
    for quantity in range(1, 11):
        for donation_id in (None, scene.donation_id):
            response = await one_connection_client.put(
                url,
                headers=scene.officer.headers,
                json={"kind": "laptop", "quantity": quantity, "donation_id": donation_id},
            )
            assert response.status_code == 200, (quantity, donation_id, response.text)
    rows = await db.fetch(
        "SELECT donation_id, quantity FROM school_quotas WHERE school_id = $1 ORDER BY 1",
        scene.school_a,
    )
    assert [tuple(r) for r in rows] == [(scene.donation_id, 10), (None, 10)]


async def test_no_free_connection_answers_503_not_500(
    one_connection_client, client, db, factory
) -> None:
    """Found by scripts/fuzz_long.py: requests its client gave up on still hold their
    connections, and the next one waited the pool's 10 s and answered 500."""
    scene = await make_scene(client, db, factory)
    await scene.tablets(2)
    body = {"kind": "tablet", "quantity": 1}
    async with db.acquire() as conn:
        # Allocations by kind of one province take turns on this lock (allocations/
        # repository.py): two that wait on it hold both connections of the one-connection app.
        await conn.execute("SELECT pg_advisory_lock(hashtextextended('allocate:11:tablet', 0))")
        waiting = [
            in_background(
                one_connection_client,
                "POST",
                f"{API}/allocations",
                scene.officer,
                body | {"school_id": school},
            )
            for school in (scene.school_a, scene.school_b)
        ]
        for _ in range(100):
            if len(await lock_waiters(db, "advisory")) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(await lock_waiters(db, "advisory")) == 2
        response = await one_connection_client.get(f"{API}/schools", headers=scene.officer.headers)
        await conn.execute("SELECT pg_advisory_unlock_all()")
    problem = assert_problem(response, 503)
    assert problem["type"].endswith("/busy") and response.headers["retry-after"] == "5"
    answers = [await w for w in waiting]
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]


# ---- finding 7: deeply nested JSON ----------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_deeply_nested_json_is_refused_before_sign_in(client, factory) -> None:
    school = await factory.school(DIEN_BIEN)
    officer = await factory.officer(DIEN_BIEN)
    deep_object = '{"a":' * 1000 + "1" + "}" * 1000
    cases = [
        ("POST", f"{API}/auth/token", {}, _nested(1000)),  # no credentials at all
        ("POST", f"{API}/auth/token", {}, deep_object),
        ("POST", f"{API}/students", {}, _nested(65)),
        ("PUT", f"{API}/schools/{school}/quotas", officer.headers, _nested(200)),
        # Raw bodies the service decodes itself (the JSON device list), and a JSON body
        # sent with another content type: the same refusal.
        ("POST", f"{API}/donations/1/devices", officer.headers, _nested(5000)),
        ("POST", f"{API}/auth/token", {"Content-Type": "text/plain"}, _nested(1000)),
    ]
    for method, url, headers, body in cases:
        response = await client.request(
            method,
            url,
            content=body.encode(),
            headers={"Content-Type": "application/json"} | headers,
        )
        problem = assert_problem(response, 400)
        assert problem["type"].endswith("/too-deep"), (url, problem)
        assert "64" in problem["detail"]
    # A body larger than the ordinary limit (1 MiB; only upload routes take one) is judged
    # as the handler reads it, after the caller's credentials and scope.
    donation = await _donation(client, officer, await factory.donor(), DIEN_BIEN, "DEEP-1")
    padded = (_nested(100) + " " * 1_100_000).encode()
    url = f"{API}/donations/{donation}/devices"
    json_type = {"Content-Type": "application/json"}
    response = await client.post(url, content=padded, headers=json_type | officer.headers)
    assert assert_problem(response, 400)["type"].endswith("/too-deep")
    response = await client.post(url, content=padded, headers=json_type)
    assert_problem(response, 401)
    # 64 levels are allowed: the body is judged on its content as usual.
    response = await client.post(
        f"{API}/auth/token",
        content=_nested(64).encode(),
        headers={"Content-Type": "application/json"},
    )
    problem = assert_problem(response, 400)
    assert not problem["type"].endswith("/too-deep"), problem
    # Brackets inside strings are text, not nesting.
    response = await client.post(
        f"{API}/auth/token",
        content=json.dumps({"email": "a@b.vn", "password": "[" * 500}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (401, 400), response.text
    assert not response.json()["type"].endswith("/too-deep")


# ---- finding 8: a note naming a student -----------------------------------------------

STUDENT = "Lò Thị Lan"


async def _everything_seen_by(client, web, caller, tag: str) -> list[tuple[str, str]]:
    """Every place a caller may read the device: the API's device and events, the device
    page, and both device exports."""
    seen: list[tuple[str, str]] = []
    for url in (f"{API}/devices/{tag}", f"{API}/devices/{tag}/events"):
        response = await client.get(url, headers=caller.headers)
        assert response.status_code == 200, (url, response.text)
        seen.append((url, response.text))
    page = await web.get(f"/devices/{tag}", headers=browser(caller))
    assert page.status_code == 200, page.text
    seen.append(("page", page.text))
    csv = await client.get(f"{API}/devices/export?format=csv", headers=caller.headers)
    assert csv.status_code == 200 and tag in csv.text, csv.text
    seen.append(("csv", csv.text))
    xlsx = await client.get(f"{API}/devices/export?format=xlsx", headers=caller.headers)
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row]
    assert tag in cells
    seen.append(("xlsx", "\n".join(cells)))
    return seen


async def test_a_note_naming_a_student_never_reaches_officers_or_donors(
    client, web, db, factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student(full_name=STUDENT)
    await scene.lend(tag, student, note=f"cho em {STUDENT}")
    # The device's own note, typed by the school's staff while it is lent: free text too.
    edited = await client.patch(
        f"{API}/devices/{tag}", headers=scene.staff_a.headers, json={"note": f"{STUDENT} giữ máy"}
    )
    assert edited.status_code == 200, edited.text
    for caller in (scene.staff_a, scene.admin):
        device = await client.get(f"{API}/devices/{tag}", headers=caller.headers)
        assert device.json()["note"] == f"{STUDENT} giữ máy"
    await scene.act(scene.staff_a, tag, "report-lost", note="mất ở nhà")
    await scene.act(scene.staff_a, tag, "found", note=f"{STUDENT} found it")
    # The officer adds a note of their own later: on a device once lent, hidden too.
    await scene.act(scene.officer, tag, "send-to-repair", note=f"sửa cho {STUDENT}")
    # A retirement's reason is kept in the event's data: free text like a note.
    await scene.act(scene.officer, tag, "retire", note=f"{STUDENT} làm vỡ màn hình")

    # The school's own staff and the admin still read every note.
    for caller in (scene.staff_a, scene.admin):
        events = (await client.get(f"{API}/devices/{tag}/events", headers=caller.headers)).json()[
            "items"
        ]
        assert f"{STUDENT} found it" in [e["note"] for e in events]

    for caller in (scene.officer, scene.donor):
        for where, text in await _everything_seen_by(client, web, caller, tag):
            assert STUDENT not in text, f"{caller.role} sees the name in {where}"
            assert "found it" not in text, f"{caller.role} sees the note in {where}"
        events = (await client.get(f"{API}/devices/{tag}/events", headers=caller.headers)).json()[
            "items"
        ]
        assert [e["action"] for e in events][-4:] == [
            "reported-lost",
            "found",
            "sent-to-repair",
            "retired",
        ]
        assert all(e["note"] is None for e in events)


async def test_staff_of_the_next_school_do_not_read_the_first_schools_notes(
    client, db, factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    await scene.act(scene.staff_a, tag, "send-to-repair", note=f"{STUDENT} dropped it")
    await scene.act(scene.staff_a, tag, "back-from-repair")
    await scene.act(scene.officer, tag, "transfer", school_id=scene.school_b)
    await scene.receive([tag], scene.school_b)
    events = (
        await client.get(f"{API}/devices/{tag}/events", headers=scene.staff_b.headers)
    ).json()["items"]
    assert STUDENT not in json.dumps(events, ensure_ascii=False)
    mine = await client.get(f"{API}/devices/{tag}/events", headers=scene.staff_a.headers)
    assert mine.status_code == 404  # the device has left school A: out of its scope now


async def test_a_large_flat_body_never_holds_the_loop_while_judged() -> None:
    """A body past the eager limit is judged chunk by chunk as it is read: no chunk, the
    last included, costs more than a few milliseconds (the old guard scanned the whole body
    again at the last chunk: 6.5 s for 64 MB). A deep one is still refused."""
    from devicetrack.common.json_depth import NestedTooDeep, _judged_as_read

    # Flat for JSON's sake (8 levels, well within 64), with brackets inside strings.
    row = json.dumps([[[[[[[{"model": "Tab [A]", "note": 'x\\"[{'}]]]]]]]).encode()
    body = b"[" + b",".join([row] * (20_000_000 // len(row))) + b"]"
    chunk = 65_536

    async def judged(payload: bytes) -> float:
        pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)]

        async def receive() -> dict[str, object]:
            piece = pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

        checking = _judged_as_read(receive, 64)
        slowest = 0.0
        while pieces:
            started = time.perf_counter()
            await checking()
            slowest = max(slowest, time.perf_counter() - started)
        return slowest

    assert len(body) > 20_000_000
    assert await judged(body) < 0.1
    with pytest.raises(NestedTooDeep):
        await judged(b'{"a":' * 100 + b"1" + b"}" * 100 + b" " * 2_000_000)

"""Idempotency-Key on the API's writes: the same caller, key and request within 24 hours
answers the first answer and changes nothing; a different request with the key answers 422;
one still running answers 409; two racing never both run."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
from litestar import Litestar
from litestar.response import Stream
from litestar.testing import AsyncTestClient

from devicetrack.dependencies import provide_transaction
from devicetrack.idempotency import service as idempotency
from tests.factories import DIEN_BIEN, Caller, assert_problem
from tests.lifecycle_helpers import (
    API,
    concurrently,
    in_background,
    lock_waiters,
    make_scene,
    overlapped,
)

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def keyed(caller: Caller, key: str) -> Caller:
    return replace(caller, headers=caller.headers | {"Idempotency-Key": key})


def same_answer(first: httpx.Response, second: httpx.Response) -> None:
    """The second is the first replayed: status, body bytes and what describes them."""
    assert second.status_code == first.status_code, second.text
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"


async def _counts(db: asyncpg.Pool) -> dict[str, int]:
    row = await db.fetchrow(
        """SELECT (SELECT count(*) FROM devices) AS devices,
                  (SELECT count(*) FROM device_events) AS events,
                  (SELECT count(*) FROM allocations) AS allocations,
                  (SELECT count(*) FROM assignments) AS assignments"""
    )
    return dict(row)


def _csv(*rows: str) -> dict[str, Any]:
    return {"file": ("devices.csv", ("kind,make,model\n" + "\n".join(rows)).encode(), "text/csv")}


async def test_registering_devices_twice_with_one_key_registers_them_once(
    client, db, factory
) -> None:
    """A multipart upload counts too: its raw body is what is compared."""
    scene = await make_scene(client, db, factory)
    url = f"{API}/donations/{scene.donation_id}/devices"
    files = _csv("tablet,Lenovo,M10", "laptop,Dell,3420")
    officer = keyed(scene.officer, "intake-2026-001")

    first = await client.post(url, headers=officer.headers, files=files)
    assert first.status_code == 201, first.text
    assert len(first.json()["asset_tags"]) == 2
    after_first = await _counts(db)
    second = await client.post(url, headers=officer.headers, files=files)
    same_answer(first, second)
    assert await _counts(db) == after_first
    assert after_first["devices"] == 2 and after_first["events"] == 2

    # Without the header, a repeat registers the devices again, as it always did.
    for _ in range(2):
        plain = await client.post(url, headers=scene.officer.headers, files=files)
        assert plain.status_code == 201 and "idempotent-replayed" not in plain.headers
    assert (await _counts(db))["devices"] == 6


async def test_allocating_twice_with_one_key_allocates_once(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(5)
    officer = keyed(scene.officer, "alloc-1")
    body = {"school_id": scene.school_a, "kind": "tablet", "quantity": 2}

    first = await client.post(f"{API}/allocations", headers=officer.headers, json=body)
    assert first.status_code == 201, first.text
    second = await client.post(f"{API}/allocations", headers=officer.headers, json=body)
    same_answer(first, second)
    assert await db.fetchval("SELECT count(*) FROM allocations") == 1
    assert await db.fetchval("SELECT count(*) FROM devices WHERE status = 'allocated'") == 2

    # The same body without the key is a new allocation.
    plain = await client.post(f"{API}/allocations", headers=scene.officer.headers, json=body)
    assert plain.status_code == 201
    assert plain.json()["id"] != first.json()["id"]
    assert await db.fetchval("SELECT count(*) FROM devices WHERE status = 'allocated'") == 4


async def test_lending_twice_with_one_key_lends_once(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    body = {"asset_tag": tag, "student_id": student}
    staff = keyed(scene.staff_a, "lend-7f3a")

    first = await client.post(f"{API}/assignments", headers=staff.headers, json=body)
    assert first.status_code == 201, first.text
    state = await _counts(db)
    second = await client.post(f"{API}/assignments", headers=staff.headers, json=body)
    same_answer(first, second)
    assert await _counts(db) == state
    assert state["assignments"] == 1
    assert [e["action"] for e in await scene.events(tag)][-1] == "assigned"
    assert len([e for e in await scene.events(tag) if e["action"] == "assigned"]) == 1

    # Without the key the repeat is what it always was: the device is already lent.
    plain = await client.post(f"{API}/assignments", headers=scene.staff_a.headers, json=body)
    assert_problem(plain, 409)
    assert await _counts(db) == state


async def test_the_key_with_a_different_request_answers_422_and_changes_nothing(
    client, db, factory
) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(5)
    officer = keyed(scene.officer, "k-422")
    body = {"school_id": scene.school_a, "kind": "tablet", "quantity": 1}
    first = await client.post(f"{API}/allocations", headers=officer.headers, json=body)
    assert first.status_code == 201, first.text
    state = await _counts(db)

    other_body = await client.post(
        f"{API}/allocations", headers=officer.headers, json=body | {"quantity": 2}
    )
    problem = assert_problem(other_body, 422)
    assert problem["type"].endswith("/idempotency-key-reused")
    assert problem["errors"] == [
        {"field": "header.Idempotency-Key", "message": "used for another request"}
    ]
    # Another path or query with the same key and body is another request too.
    other_path = await client.post(f"{API}/allocations?dry=1", headers=officer.headers, json=body)
    assert_problem(other_path, 422)
    assert await _counts(db) == state
    # The original request still gets its answer.
    same_answer(first, await client.post(f"{API}/allocations", headers=officer.headers, json=body))


async def test_parallel_identical_requests_with_one_key_change_once(client, db, factory) -> None:
    """Six identical allocations of 2 tablets from a stock of 20, at the same moment, with
    one key: one allocation; the others get its answer or 409 (still running)."""
    scene = await make_scene(client, db, factory)
    await scene.tablets(20)
    officer = keyed(scene.officer, "race-1")
    body = {"school_id": scene.school_a, "kind": "tablet", "quantity": 2}
    results = await concurrently(client, [("POST", f"{API}/allocations", officer, body)] * 6)
    assert overlapped(results)

    assert await db.fetchval("SELECT count(*) FROM allocations") == 1
    assert await db.fetchval("SELECT count(*) FROM devices WHERE status = 'allocated'") == 2
    responses = [r.response for r in results]
    done = [r for r in responses if r.status_code == 201]
    busy = [r for r in responses if r.status_code == 409]
    assert len(done) + len(busy) == 6 and done, [r.text for r in responses]
    assert len({r.content for r in done}) == 1
    assert len([r for r in done if "idempotent-replayed" not in r.headers]) == 1
    for response in busy:
        assert assert_problem(response, 409)["type"].endswith("/idempotency-key-in-flight")
        assert response.headers["retry-after"] == "1"
    again = await client.post(f"{API}/allocations", headers=officer.headers, json=body)
    assert again.status_code == 201 and again.content == done[0].content


async def test_a_request_still_running_answers_409_then_its_answer(client, db, factory) -> None:
    """The first request is held inside its transaction (the test holds the lock that
    allocations of tablets in the province take); the repeat meanwhile gets 409 at once,
    and after the first finishes, its answer."""
    scene = await make_scene(client, db, factory)
    await scene.tablets(3)
    officer = keyed(scene.officer, "slow-1")
    body = {"school_id": scene.school_a, "kind": "tablet", "quantity": 1}
    async with db.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"allocate:{DIEN_BIEN}:tablet",
        )
        first = in_background(client, "POST", f"{API}/allocations", officer, body)
        for _ in range(200):
            if await lock_waiters(db, "advisory"):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the first request never reached the allocation lock")
        repeat = await client.post(f"{API}/allocations", headers=officer.headers, json=body)
        assert assert_problem(repeat, 409)["type"].endswith("/idempotency-key-in-flight")
        assert await db.fetchval("SELECT count(*) FROM allocations") == 0
        await transaction.rollback()
    answered = await first
    assert answered.status_code == 201, answered.text
    same_answer(
        answered, await client.post(f"{API}/allocations", headers=officer.headers, json=body)
    )
    assert await db.fetchval("SELECT count(*) FROM allocations") == 1


async def test_keys_belong_to_their_caller(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(4)
    body = {"school_id": scene.school_a, "kind": "tablet", "quantity": 1}
    other_officer = await factory.officer(DIEN_BIEN)
    answers = [
        await client.post(f"{API}/allocations", headers=keyed(c, "shared").headers, json=body)
        for c in (scene.officer, other_officer)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert all("idempotent-replayed" not in a.headers for a in answers)
    assert answers[0].json()["id"] != answers[1].json()["id"]
    assert await db.fetchval("SELECT count(*) FROM allocations") == 2
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'shared'") == 2


async def test_an_api_key_shares_its_users_keys(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(2)
    created = await client.post(
        f"{API}/api-keys",
        headers=scene.admin.headers,
        json={"name": "sync", "user_id": scene.admin.user_id},
    )
    assert created.status_code == 201, created.text
    api_key = {"X-API-Key": created.json()["key"], "Idempotency-Key": "via-both"}
    body = {"school_id": scene.school_a, "kind": "tablet", "quantity": 1}
    first = await client.post(
        f"{API}/allocations", headers=keyed(scene.admin, "via-both").headers, json=body
    )
    assert first.status_code == 201, first.text
    same_answer(first, await client.post(f"{API}/allocations", headers=api_key, json=body))
    assert await db.fetchval("SELECT count(*) FROM allocations") == 1


async def test_after_24_hours_the_key_can_be_used_again(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    url = f"{API}/donations/{scene.donation_id}/devices"
    officer = keyed(scene.officer, "daily")
    files = _csv("tablet,Lenovo,M10")
    first = await client.post(url, headers=officer.headers, files=files)
    assert first.status_code == 201, first.text
    await db.execute(
        "UPDATE idempotency_keys SET created_at = created_at - interval '23 hours 59 minutes'"
    )
    same_answer(first, await client.post(url, headers=officer.headers, files=files))
    await db.execute("UPDATE idempotency_keys SET created_at = created_at - interval '2 minutes'")

    again = await client.post(url, headers=officer.headers, files=files)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["asset_tags"] != first.json()["asset_tags"]
    assert await db.fetchval("SELECT count(*) FROM devices") == 2
    # The key now holds the new answer, from now.
    assert await db.fetchval(
        "SELECT created_at > now() - interval '1 minute' FROM idempotency_keys"
    )
    same_answer(again, await client.post(url, headers=officer.headers, files=files))


async def test_expired_keys_are_swept(client, db, factory) -> None:
    """Keys older than the retention go: a few by each request that adds a key, all by
    purge_expired (for the nightly jobs)."""
    scene = await make_scene(client, db, factory)
    await db.execute(
        """INSERT INTO idempotency_keys (user_id, key, fingerprint, kept, status, headers,
                                         created_at)
           SELECT $1, 'old-' || i, 'x', 'answer', 200, '[]', now() - interval '3 days'
             FROM generate_series(1, 150) i""",
        scene.officer.user_id,
    )
    response = await client.post(
        f"{API}/donations/{scene.donation_id}/devices",
        headers=keyed(scene.officer, "new").headers,
        files=_csv("tablet,A,B"),
    )
    assert response.status_code == 201, response.text
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key LIKE 'old-%'") == 50

    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from devicetrack.config import async_url

    dsn = str(client.app.state.settings.database_url)
    engine = create_async_engine(async_url(dsn))
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            assert await idempotency.purge_expired(session, 24) == 50
    finally:
        await engine.dispose()
    assert await db.fetch("SELECT key FROM idempotency_keys") == [("new",)]


async def test_the_answer_is_written_with_the_change_or_neither_is(client, db, factory) -> None:
    """If the key's row cannot be written, the devices are not registered either: the
    answer and the change are one transaction (written after the change, in its own
    transaction, the devices would stay and a retry would register them again)."""
    scene = await make_scene(client, db, factory)
    url = f"{API}/donations/{scene.donation_id}/devices"
    await db.execute(
        """CREATE FUNCTION refuse_key() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
           CREATE TRIGGER refuse_key BEFORE INSERT ON idempotency_keys
              FOR EACH ROW WHEN (NEW.key = 'doomed') EXECUTE FUNCTION refuse_key()"""
    )
    try:
        failed = await client.post(
            url, headers=keyed(scene.officer, "doomed").headers, files=_csv("tablet,A,B")
        )
        assert_problem(failed, 500)
        assert await _counts(db) == {"devices": 0, "events": 0, "allocations": 0, "assignments": 0}
    finally:
        await db.execute("DROP TRIGGER refuse_key ON idempotency_keys; DROP FUNCTION refuse_key()")
    ok = await client.post(
        url, headers=keyed(scene.officer, "doomed").headers, files=_csv("tablet,A,B")
    )
    assert ok.status_code == 201 and "idempotent-replayed" not in ok.headers
    assert (await _counts(db))["devices"] == 1


async def test_a_refusal_is_kept_and_replayed(client, db, factory) -> None:
    """A request refused (404: the device has not reached the school, so its staff cannot
    see it) changed nothing; its answer is the key's answer, even after the device
    arrives. A new key runs anew."""
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    student = await scene.consenting_student()
    body = {"asset_tag": tag, "student_id": student}
    staff = keyed(scene.staff_a, "early")
    refused = await client.post(f"{API}/assignments", headers=staff.headers, json=body)
    assert_problem(refused, 404)
    await scene.at_school([tag])
    same_answer(refused, await client.post(f"{API}/assignments", headers=staff.headers, json=body))
    assert await db.fetchval("SELECT count(*) FROM assignments") == 0
    fresh = await client.post(
        f"{API}/assignments", headers=keyed(scene.staff_a, "later").headers, json=body
    )
    assert fresh.status_code == 201, fresh.text


async def test_malformed_keys_answer_400_and_reads_ignore_keys(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(3)
    url = f"{API}/allocations"
    body = {"school_id": scene.school_a, "kind": "tablet", "quantity": 1}
    for bad in ("x" * 256, "", '""', "tab\there"):
        response = await client.post(url, headers=keyed(scene.officer, bad).headers, json=body)
        problem = assert_problem(response, 400)
        assert problem["errors"][0]["field"] == "header.Idempotency-Key", bad
    two = [*scene.officer.headers.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    assert_problem(await client.post(url, headers=two, json=body), 400)
    assert await db.fetchval("SELECT count(*) FROM allocations") == 0

    # 255 characters are fine; the draft's quoted form is the same key as the bare one.
    longest = await client.post(url, headers=keyed(scene.officer, "y" * 255).headers, json=body)
    assert longest.status_code == 201, longest.text
    bare = await client.post(url, headers=keyed(scene.officer, "k-7").headers, json=body)
    quoted = await client.post(url, headers=keyed(scene.officer, '"k-7"').headers, json=body)
    same_answer(bare, quoted)
    assert await db.fetchval("SELECT count(*) FROM allocations") == 2

    # Reads ignore the key, and a request without a caller is refused as before.
    tag = bare.json()["devices"][0]["asset_tag"]
    for _ in range(2):
        read = await client.get(f"{API}/devices/{tag}", headers=keyed(scene.officer, "k-7").headers)
        assert read.status_code == 200 and "idempotent-replayed" not in read.headers
    unsigned = await client.post(url, headers={"Idempotency-Key": "k-7"}, json=body)
    assert_problem(unsigned, 401)
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 2


async def test_a_secret_shown_once_is_not_kept(client, db, factory) -> None:
    """Creating an API key with a key creates one; its secret is not stored with the key,
    so a repeat is refused (409) instead of replayed, and makes no second API key."""
    admin = keyed(await factory.admin(), "new-api-key")
    first = await client.post(
        f"{API}/api-keys", headers=admin.headers, json={"name": "sync", "user_id": admin.user_id}
    )
    assert first.status_code == 201, first.text
    secret = first.json()["key"]
    repeat = await client.post(
        f"{API}/api-keys", headers=admin.headers, json={"name": "sync", "user_id": admin.user_id}
    )
    assert assert_problem(repeat, 409)["type"].endswith("/idempotency-answer-not-kept")
    assert secret not in repeat.text
    assert await db.fetchval("SELECT count(*) FROM api_keys") == 1
    row = await db.fetchrow("SELECT kept, body FROM idempotency_keys")
    assert (row["kept"], row["body"]) == ("secret", None)


async def test_a_body_with_a_password_is_fingerprinted_slowly(client, db, factory) -> None:
    """A fingerprint is a hash of the body; for a body with a password it is an argon2
    hash, so the table is no shortcut to guessing the password."""
    admin = keyed(await factory.admin(), "new-user")
    body = {
        "email": "nguoi.moi@test.devicetrack.vn",
        "full_name": "Người Mới",
        "password": "mật-khẩu-dài-12",
        "role": "admin",
    }
    first = await client.post(f"{API}/users", headers=admin.headers, json=body)
    assert first.status_code == 201, first.text
    assert (await db.fetchval("SELECT fingerprint FROM idempotency_keys")).startswith("$argon2")
    same_answer(first, await client.post(f"{API}/users", headers=admin.headers, json=body))
    other = await client.post(
        f"{API}/users", headers=admin.headers, json=body | {"password": "mật-khẩu-khác-34"}
    )
    assert_problem(other, 422)
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = $1", body["email"]) == 1


async def test_a_streamed_answer_runs_again(client, db, factory) -> None:
    """A label sheet is streamed as it is drawn, never held whole, so it is not kept: a
    repeat draws it again (it changes nothing). The key still binds the request."""
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(2)
    officer = keyed(scene.officer, "labels-1")
    sheets = [
        await client.post(f"{API}/labels", headers=officer.headers, json={"asset_tags": tags})
        for _ in range(2)
    ]
    for sheet in sheets:
        assert sheet.status_code == 200, sheet.text
        assert sheet.content.startswith(b"%PDF") and "idempotent-replayed" not in sheet.headers
    row = await db.fetchrow("SELECT kept, status, body FROM idempotency_keys")
    assert tuple(row) == ("streamed", 200, None)
    other = await client.post(
        f"{API}/labels", headers=officer.headers, json={"asset_tags": tags[:1]}
    )
    assert_problem(other, 422)


async def test_deleting_twice_with_one_key(client, db, factory) -> None:
    admin = await factory.admin()
    created = await client.post(
        f"{API}/api-keys", headers=admin.headers, json={"name": "old", "user_id": admin.user_id}
    )
    key_id = created.json()["id"]
    revoke = keyed(admin, "revoke-old")
    first = await client.delete(f"{API}/api-keys/{key_id}", headers=revoke.headers)
    assert first.status_code == 204, first.text
    revoked_at = await db.fetchval("SELECT revoked_at FROM api_keys WHERE id = $1", key_id)
    assert revoked_at is not None
    second = await client.delete(f"{API}/api-keys/{key_id}", headers=revoke.headers)
    assert second.status_code == 204 and second.headers["idempotent-replayed"] == "true"
    assert await db.fetchval("SELECT revoked_at FROM api_keys WHERE id = $1", key_id) == revoked_at


def test_every_api_write_goes_through_the_keyed_transaction(client: AsyncTestClient) -> None:
    """Each POST/PUT/PATCH/DELETE of the API takes the request's transaction and has the
    hook that hands its answer to it; only the label sheet (which changes nothing) streams,
    since a streamed answer is run again rather than replayed."""
    app: Litestar = client.app
    writes = 0
    for route in app.routes:
        if not route.path.startswith("/api/v1"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if not set(handler.http_methods) & WRITES:
                continue
            writes += 1
            name = handler.operation_id
            assert handler.opt.get("idempotency"), name
            if name in idempotency.NOT_KEYED:
                continue
            assert handler.resolve_dependencies()["tx"].dependency is provide_transaction, name
            # Litestar runs only the nearest layer's after_request: it must be the API's.
            hooked = [layer for layer in handler.ownership_layers if layer.after_request]
            assert hooked[-1].path == "/api/v1", name
            assert idempotency.scope_middleware in handler.resolve_middleware(), name
            returns = handler.parsed_fn_signature.return_type.annotation
            if returns is Stream:
                assert name == "labelSheet", name
    assert writes > 30


def test_one_definition_of_the_methods_that_change_nothing() -> None:
    """The transaction (dependencies) and the idempotency middleware agree on which methods
    only read, because there is one list."""
    from devicetrack import dependencies
    from devicetrack.idempotency import service

    assert dependencies.READ_ONLY_METHODS is service.READ_ONLY_METHODS


async def test_a_kept_answer_naming_a_child_is_logged_when_replayed_and_dropped_on_erasure(
    client, db, factory
) -> None:
    """A kept answer that carries a student's personal fields is a read of that student
    each time it is sent again, and is not a copy that outlives the child's erasure: after it,
    a repeat with the key is refused (carried out once, never twice) and names nobody."""
    scene = await make_scene(client, db, factory)
    staff = keyed(scene.staff_a, "enrol-lan-1")
    body = {
        "school_id": scene.school_a,
        "student_code": "HS-IDEM-1",
        "full_name": "Lò Thị Lan",
        "grade": 4,
    }
    first = await client.post(f"{API}/students", headers=staff.headers, json=body)
    assert first.status_code == 201, first.text
    student_id = first.json()["id"]
    second = await client.post(f"{API}/students", headers=staff.headers, json=body)
    same_answer(first, second)
    logged = await db.fetch(
        "SELECT user_id, route FROM student_access_log WHERE student_id = $1", student_id
    )
    # Making the record is not a read of it (as without a key); sending the kept copy is.
    assert [(r["user_id"], r["route"]) for r in logged] == [
        (scene.staff_a.user_id, "POST /api/v1/students")
    ]
    kept = await db.fetchrow(
        "SELECT student_ids, body FROM idempotency_keys WHERE key = 'enrol-lan-1'"
    )
    assert kept["student_ids"] == [student_id]
    assert "Lò Thị Lan".encode() in kept["body"]

    erased = await client.delete(f"{API}/students/{student_id}", headers=scene.staff_a.headers)
    assert erased.status_code == 204, erased.text
    row = await db.fetchrow(
        "SELECT kept, body, headers, student_ids FROM idempotency_keys WHERE key = 'enrol-lan-1'"
    )
    assert (row["kept"], row["body"], row["headers"], row["student_ids"]) == (
        "erased",
        None,
        "[]",
        [],
    )
    again = await client.post(f"{API}/students", headers=staff.headers, json=body)
    problem = assert_problem(again, 409)
    assert problem["type"].endswith("idempotency-answer-not-kept")
    assert "Lò Thị Lan" not in again.text
    assert await db.fetchval("SELECT count(*) FROM students WHERE student_code = 'HS-IDEM-1'") == 1
    # Answers that name nobody are untouched by an erasure.
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE kept = 'answer'") == 0

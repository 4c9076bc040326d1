"""Sign-in throttling under parallel guesses and forged addresses, answers that browsers must
not keep, API keys that die with their user's password, and dates of real events."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import uvicorn
from litestar.testing import AsyncTestClient

from devicetrack.app import create_app
from devicetrack.auth.secrets import hash_password
from devicetrack.cli import UVICORN_OPTIONS
from devicetrack.common.clock import local_today
from devicetrack.config import Settings
from tests.factories import assert_problem
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser, pdf_text

LOGIN = f"{API}/auth/token"
PASSWORD = "mật-khẩu-đúng-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[str]:
    """The app behind uvicorn on 127.0.0.1, run with the options `devicetrack serve` uses:
    these requests reach it over TCP from a real peer address."""
    port = _free_port()
    options = UVICORN_OPTIONS | {"log_level": "warning"}
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, lifespan="on", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "the live server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _addresses(db, email_like: str = "%") -> list[str]:
    rows = await db.fetch(
        "SELECT address FROM login_attempts WHERE email LIKE $1 ORDER BY id", email_like
    )
    return [r["address"] for r in rows]


# ---- throttling ---------------------------------------------------------------------


async def test_forty_parallel_guesses_get_five_password_checks(db, factory, settings) -> None:
    """Finding 5: 40 parallel wrong passwords for one account were 10 password checks. Every
    check is an attempt row reserved before it, so the rows are the checks."""
    email = "hieu.truong@muongcha.edu.vn"
    await factory.user("admin", email=email, password_hash=hash_password(PASSWORD))
    async with live_server(settings) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        answers = await asyncio.gather(
            *(http.post(LOGIN, json={"email": email, "password": f"đoán-{i}"}) for i in range(40))
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [401] * 5 + [429] * 35, statuses
        assert await db.fetchval("SELECT count(*) FROM login_attempts WHERE email = $1", email) == 5
        throttled = next(r for r in answers if r.status_code == 429)
        assert throttled.headers["retry-after"] == "300"
        # The account's limit holds for the right password too, and issues nothing.
        right = await http.post(LOGIN, json={"email": email, "password": PASSWORD})
        assert_problem(right, 429)
    assert await db.fetchval("SELECT count(*) FROM auth_tokens") == 1  # the factory's own


async def test_forwarded_for_from_an_untrusted_peer_changes_nothing(db, settings) -> None:
    """Finding 5: `X-Forwarded-For: 1.2.3.4` from 127.0.0.1 reset the per-address count
    (uvicorn trusted it by default). With no trusted proxy the peer is the client."""
    assert settings.trusted_proxies == ()  # the default
    # Two failures per account, eight per address (4x): fewer slow password checks to wait for.
    strict = dataclasses.replace(settings, login_max_failures=2)
    async with live_server(strict) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        for i in range(8):  # four accounts, two wrong passwords each: within their limit
            answer = await http.post(
                LOGIN,
                json={"email": f"user{i % 4}@forged.vn", "password": "sai"},
                headers={"X-Forwarded-For": f"1.2.3.{i}"},
            )
            assert_problem(answer, 401)
        assert set(await _addresses(db)) == {"127.0.0.1"}
        # A fresh forged address on a fresh account: still this peer's ninth failure.
        answer = await http.post(
            LOGIN,
            json={"email": "new@forged.vn", "password": "sai"},
            headers={"X-Forwarded-For": "9.9.9.9"},
        )
        assert_problem(answer, 429)
    assert set(await _addresses(db)) == {"127.0.0.1"}


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(db, settings) -> None:
    behind_proxy = dataclasses.replace(
        settings, trusted_proxies=("127.0.0.1",), login_max_failures=2
    )
    async with (
        live_server(behind_proxy) as base,
        httpx.AsyncClient(base_url=base, timeout=60) as http,
    ):

        async def wrong(email: str, forwarded: str) -> httpx.Response:
            return await http.post(
                LOGIN,
                json={"email": email, "password": "sai"},
                headers={"X-Forwarded-For": forwarded},
            )

        for i in range(8):
            assert_problem(await wrong(f"user{i % 4}@school.vn", "198.51.100.7"), 401)
        assert set(await _addresses(db)) == {"198.51.100.7"}
        # Another client behind the same proxy has its own count.
        assert_problem(await wrong("other@school.vn", "198.51.100.8"), 401)
        # What a client writes left of the proxy's own entry is not believed.
        assert_problem(await wrong("third@school.vn", "10.9.9.9, 198.51.100.7"), 429)
        # A header the proxy did not fill in leaves the proxy's own address.
        assert_problem(await wrong("fourth@school.vn", "not-an-address"), 401)
    assert (await _addresses(db))[8:] == ["198.51.100.8", "198.51.100.7", "127.0.0.1"]


async def test_the_right_password_is_not_refused_for_its_address_alone(client, db, factory) -> None:
    """Finding 5: 20 failures from one address over several accounts made the correct admin
    password answer 429. A shared school computer must not lock its admin out."""
    admin_email = "quan.tri@dienbien.gov.vn"
    await factory.user("admin", email=admin_email, password_hash=hash_password(PASSWORD))
    locked_email = "giao.vien@muongcha.edu.vn"
    await factory.user("admin", email=locked_email, password_hash=hash_password(PASSWORD))
    for i in range(20):
        answer = await client.post(LOGIN, json={"email": f"hs{i % 5}@x.vn", "password": "sai"})
        assert_problem(answer, 401)
    # A wrong password from this address is now told to wait …
    assert_problem(await client.post(LOGIN, json={"email": admin_email, "password": "x"}), 429)
    # … but the right one gets in.
    right = await client.post(LOGIN, json={"email": admin_email, "password": PASSWORD})
    assert right.status_code == 200, right.text
    me = await client.get(
        f"{API}/me", headers={"Authorization": f"Bearer {right.json()['access_token']}"}
    )
    assert me.json()["email"] == admin_email
    # The per-account limit still applies, whatever the address.
    for _ in range(5):
        await client.post(LOGIN, json={"email": locked_email, "password": "sai"})
    assert_problem(
        await client.post(LOGIN, json={"email": locked_email, "password": PASSWORD}), 429
    )
    assert await db.fetchval("SELECT count(*) FROM auth_tokens") == 3  # two factory, one login


# ---- no-store -------------------------------------------------------------------------


async def test_answers_with_personal_data_are_never_stored(client, db, factory, web) -> None:
    """Finding 11: GET /students/{id} had no Cache-Control. Every answer but the static files
    says no-store, the token answer included (RFC 6749 §5.1)."""
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student(full_name="Lò Thị Lan")
    loan = await scene.lend(tag, student)
    staff = scene.staff_a.headers
    email = "dang.nhap@muongcha.edu.vn"
    await factory.user("admin", email=email, password_hash=hash_password(PASSWORD))

    answers = {
        "token": await client.post(LOGIN, json={"email": email, "password": PASSWORD}),
        "student": await client.get(f"{API}/students/{student}", headers=staff),
        "students": await client.get(f"{API}/students", headers=staff),
        "export": await client.get(f"{API}/students/{student}/export", headers=staff),
        "consents": await client.get(f"{API}/students/{student}/consents", headers=staff),
        "loans": await client.get(f"{API}/assignments", headers=staff),
        "loan": await client.get(f"{API}/assignments/{loan['id']}", headers=staff),
        "me": await client.get(f"{API}/me", headers=staff),
        "not found": await client.get(f"{API}/students/999999", headers=staff),
        "signed out": await client.get(f"{API}/students"),
        "page download": await web.get(
            f"/students/{student}/export", headers=browser(scene.staff_a)
        ),
    }
    assert "Lò Thị Lan" in answers["student"].text and "Lò Thị Lan" in answers["export"].text
    assert "Lò Thị Lan" in pdf_text(answers["page download"].content)
    for name, answer in answers.items():
        assert answer.status_code in (200, 401, 404), (name, answer.text)
        assert answer.headers.get("cache-control") == "no-store", name
    # The static files keep their own caching.
    static = await client.get("/static/app.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")


# ---- API keys -----------------------------------------------------------------------


async def _key(client, admin, user_id: int, name: str = "SMAS") -> dict:
    created = await client.post(
        f"{API}/api-keys", json={"name": name, "user_id": user_id}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def test_an_api_key_dies_with_its_users_password(client, db, factory) -> None:
    """Finding 11: a key kept working after its user's password changed."""
    admin = await factory.admin()
    officer = await factory.officer()
    other = await factory.officer()
    key, others_key = (
        await _key(client, admin, officer.user_id),
        await _key(client, admin, other.user_id),
    )
    assert (await client.get(f"{API}/me", headers={"X-API-Key": key["key"]})).status_code == 200

    changed = await client.patch(
        f"{API}/users/{officer.user_id}",
        json={"password": "mật-khẩu-mới-2026"},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    for headers in ({"X-API-Key": key["key"]}, {"Authorization": f"Bearer {key['key']}"}):
        assert_problem(await client.get(f"{API}/me", headers=headers), 401)
    assert await db.fetchval("SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1", key["id"])
    listed = {
        k["id"]: k
        for k in (await client.get(f"{API}/api-keys", headers=admin.headers)).json()["items"]
    }
    assert listed[key["id"]]["revoked_at"] is not None
    # Another user's key is untouched; a new key for the officer works.
    assert listed[others_key["id"]]["revoked_at"] is None
    assert (
        await client.get(f"{API}/me", headers={"X-API-Key": others_key["key"]})
    ).status_code == 200
    fresh = await _key(client, admin, officer.user_id, "SMAS 2")
    assert (await client.get(f"{API}/me", headers={"X-API-Key": fresh["key"]})).status_code == 200


async def test_an_api_key_stays_dead_after_its_user_is_reactivated(client, db, factory) -> None:
    admin = await factory.admin()
    officer = await factory.officer()
    key = await _key(client, admin, officer.user_id)
    users = f"{API}/users/{officer.user_id}"
    await client.patch(users, json={"active": False}, headers=admin.headers)
    assert_problem(await client.get(f"{API}/me", headers={"X-API-Key": key["key"]}), 401)
    await client.patch(users, json={"active": True}, headers=admin.headers)
    assert_problem(await client.get(f"{API}/me", headers={"X-API-Key": key["key"]}), 401)
    assert await db.fetchval("SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1", key["id"])


async def test_a_cached_api_key_stops_at_once_when_the_password_changes(
    db, factory, settings
) -> None:
    """With the in-process credential cache on (as in production), the change drops the
    cached key in this process at once (other processes within the cache's few seconds)."""
    cached = dataclasses.replace(settings, auth_cache_seconds=60)
    async with AsyncTestClient(app=create_app(cached)) as client:
        admin = await factory.admin()
        officer = await factory.officer()
        key = await _key(client, admin, officer.user_id)
        headers = {"X-API-Key": key["key"]}
        assert (await client.get(f"{API}/me", headers=headers)).status_code == 200  # cached now
        await client.patch(
            f"{API}/users/{officer.user_id}",
            json={"password": "mật-khẩu-mới-2026"},
            headers=admin.headers,
        )
        assert_problem(await client.get(f"{API}/me", headers=headers), 401)


# ---- dates of real events -----------------------------------------------------------


def _out_of_range(answer, field: str) -> None:
    body = assert_problem(answer, 422)
    assert [e["field"] for e in body["errors"]] == [field], body
    assert body["errors"][0]["message"].startswith("must be between 2000-01-01 and "), body


async def test_dates_of_real_events_stay_within_2000_to_ten_years_ahead(
    client, db, factory
) -> None:
    """Finding 11: a consent given on 0001-01-01 and a loan due back on 9999-12-31 were
    accepted. One rule for consents, loans, donations, SIM plans, warranties and intake."""
    scene = await make_scene(client, db, factory)
    today = local_today()
    horizon = (
        today.replace(year=today.year + 10)
        if (today.month, today.day) != (2, 29)
        else (today.replace(year=today.year + 10, day=28))
    )
    beyond = (horizon + timedelta(days=1)).isoformat()

    student = (await scene.student())["id"]
    consents = f"{API}/students/{student}/consents"
    consent = {"given_by": "Phụ huynh", "method": "paper"}
    for given_at in ("0001-01-01", "1999-12-31"):
        answer = await client.post(
            consents, json=consent | {"given_at": given_at}, headers=scene.admin.headers
        )
        _out_of_range(answer, "given_at")
    assert await db.fetchval("SELECT count(*) FROM consents") == 0
    ok = await client.post(
        consents, json=consent | {"given_at": "2000-01-01"}, headers=scene.admin.headers
    )
    assert ok.status_code == 201, ok.text

    tags = await scene.tablets(2)
    await scene.at_school(tags)
    lend = {"asset_tag": tags[0], "student_id": student}
    for due in ("9999-12-31", beyond):
        answer = await client.post(
            f"{API}/assignments", json=lend | {"due_back_on": due}, headers=scene.staff_a.headers
        )
        _out_of_range(answer, "due_back_on")
    assert (await scene.device(tags[0]))["status"] == "at_school"
    lent = await client.post(
        f"{API}/assignments",
        json=lend | {"due_back_on": horizon.isoformat()},
        headers=scene.staff_a.headers,
    )
    assert lent.status_code == 201, lent.text

    donation = {"donor_id": scene.donor_id, "province_code": "11", "reference": "LC-2"}
    answer = await client.post(
        f"{API}/donations",
        json=donation | {"received_on": "1999-12-31"},
        headers=scene.officer.headers,
    )
    _out_of_range(answer, "received_on")
    answer = await client.patch(
        f"{API}/donations/{scene.donation_id}",
        json={"received_on": "9999-12-31"},
        headers=scene.officer.headers,
    )
    _out_of_range(answer, "received_on")
    assert (
        await db.fetchval("SELECT received_on FROM donations WHERE id = $1", scene.donation_id)
        is None
    )

    (sim,) = await scene.intake({"kind": "sim", "iccid": "8984040000000000084"})
    answer = await client.patch(
        f"{API}/devices/{sim}",
        json={"plan_expires_on": "2300-01-01"},
        headers=scene.officer.headers,
    )
    _out_of_range(answer, "plan_expires_on")
    answer = await client.patch(
        f"{API}/devices/{tags[1]}", json={"warranty_until": beyond}, headers=scene.officer.headers
    )
    _out_of_range(answer, "warranty_until")
    renewed = await client.patch(
        f"{API}/devices/{sim}",
        json={"plan_expires_on": horizon.isoformat()},
        headers=scene.officer.headers,
    )
    assert renewed.status_code == 200, renewed.text

    # Intake rows (JSON, CSV and XLSX share the row checks): the row and the column named.
    answer = await client.post(
        f"{API}/donations/{scene.donation_id}/devices",
        json=[
            {"kind": "tablet", "serial": "OK-1", "warranty_until": "2027-06-30"},
            {"kind": "sim", "iccid": "8984040000000000092", "plan_expires_on": "31/12/9999"},
        ],
        headers=scene.officer.headers,
    )
    body = assert_problem(answer, 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "plan_expires_on")], body
    assert await db.fetchval("SELECT count(*) FROM devices WHERE serial = 'OK-1'") == 0


async def test_new_and_changed_passwords_are_hashed_off_the_event_loop(
    client, factory, monkeypatch
) -> None:
    """argon2 costs tens to hundreds of milliseconds of CPU: creating a user or changing a
    password hashes in a worker thread, as sign-in does, so other requests go on."""
    from devicetrack.auth import service

    on_loop: list[bool] = []

    def recording(password: str) -> str:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # a worker thread runs no event loop
            on_loop.append(False)
        return hash_password(password)

    monkeypatch.setattr(service, "hash_password", recording)
    admin = await factory.admin()
    created = await client.post(
        f"{API}/users",
        headers=admin.headers,
        json={
            "email": "nguoi.moi@test.devicetrack.vn",
            "full_name": "Người Mới",
            "password": "mật-khẩu-dài-12",
            "role": "admin",
        },
    )
    assert created.status_code == 201, created.text
    changed = await client.patch(
        f"{API}/users/{created.json()['id']}", json={"password": PASSWORD}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert on_loop == [False, False]
    signed_in = await client.post(
        LOGIN, json={"email": "nguoi.moi@test.devicetrack.vn", "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text

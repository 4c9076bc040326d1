"""Signing in: tokens, wrong passwords, deactivation, expiry, throttling, and /me."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devicetrack.auth.secrets import hash_password, token_digest
from tests.factories import DIEN_BIEN, assert_problem

PASSWORD = "mật-khẩu-đúng-2025"
LOGIN = "/api/v1/auth/token"


async def _login(client, email: str, password: str):
    return await client.post(LOGIN, json={"email": email, "password": password})


@pytest.fixture
async def staff_login(factory):
    """A school_staff user with a real argon2 hash, ready to sign in."""
    school = await factory.school(DIEN_BIEN)
    email = "giao.vien@muongcha.edu.vn"
    caller = await factory.user(
        "school_staff", schools=[school], email=email, password_hash=hash_password(PASSWORD)
    )
    return caller, email, school


async def test_login_gives_a_bearer_token_that_works(client, db, staff_login) -> None:
    caller, email, school = staff_login
    before = datetime.now(UTC)
    response = await _login(client, email, PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_at"}
    assert body["token_type"] == "bearer"
    token = body["access_token"]
    assert isinstance(token, str) and len(token) >= 32
    expires_at = datetime.fromisoformat(body["expires_at"])
    # Settings default: 12 hours.
    assert before + timedelta(hours=11, minutes=59) < expires_at
    assert expires_at < datetime.now(UTC) + timedelta(hours=12, minutes=1)

    # Only the digest is stored, never the token itself.
    row = await db.fetchrow(
        "SELECT user_id, expires_at FROM auth_tokens WHERE token_hash = $1", token_digest(token)
    )
    assert row is not None and row["user_id"] == caller.user_id
    assert abs((row["expires_at"] - expires_at).total_seconds()) < 1
    assert await db.fetchval("SELECT count(*) FROM auth_tokens WHERE token_hash = $1", token) == 0

    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == caller.user_id
    assert me.json()["role"] == "school_staff"
    assert me.json()["school_ids"] == [school]


async def test_email_is_matched_case_insensitively(client, staff_login) -> None:
    _, email, _ = staff_login
    response = await _login(client, email.upper(), PASSWORD)
    assert response.status_code == 200, response.text


async def test_wrong_password_is_401_problem_and_is_recorded(client, db, staff_login) -> None:
    _, email, _ = staff_login
    response = await _login(client, email, "not-the-password")
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "access_token" not in body
    assert "not-the-password" not in response.text
    assert await db.fetchval("SELECT count(*) FROM auth_tokens") == 1  # the factory's only
    assert await db.fetchval("SELECT count(*) FROM login_attempts WHERE email = $1", email) == 1


async def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, staff_login) -> None:
    _, email, _ = staff_login
    wrong_password = assert_problem(await _login(client, email, "nope"), 401)
    no_account = assert_problem(await _login(client, "nobody@nowhere.vn", "nope"), 401)
    assert wrong_password["detail"] == no_account["detail"]
    assert wrong_password["title"] == no_account["title"]


async def test_deactivated_user_cannot_sign_in_and_its_tokens_stop(
    client, db, factory, staff_login
) -> None:
    caller, email, _ = staff_login
    admin = await factory.admin()
    fresh = (await _login(client, email, PASSWORD)).json()["access_token"]
    fresh_headers = {"Authorization": f"Bearer {fresh}"}
    assert (await client.get("/api/v1/me", headers=fresh_headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=caller.headers)).status_code == 200

    patched = await client.patch(
        f"/api/v1/users/{caller.user_id}", json={"active": False}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False
    assert await db.fetchval("SELECT active FROM users WHERE id = $1", caller.user_id) is False
    assert (
        await db.fetchval("SELECT count(*) FROM auth_tokens WHERE user_id = $1", caller.user_id)
        == 0
    )

    for headers in (fresh_headers, caller.headers):
        assert_problem(await client.get("/api/v1/me", headers=headers), 401)
    assert_problem(await _login(client, email, PASSWORD), 401)

    # Reactivated, the old tokens stay dead but a new sign-in works.
    await client.patch(
        f"/api/v1/users/{caller.user_id}", json={"active": True}, headers=admin.headers
    )
    assert_problem(await client.get("/api/v1/me", headers=fresh_headers), 401)
    assert (await _login(client, email, PASSWORD)).status_code == 200


async def test_deactivated_user_in_sql_is_refused_at_once(client, db, factory) -> None:
    """The token lookup itself checks `active`, not only the deactivation endpoint."""
    caller = await factory.officer()
    assert (await client.get("/api/v1/me", headers=caller.headers)).status_code == 200
    await db.execute("UPDATE users SET active = false WHERE id = $1", caller.user_id)
    assert_problem(await client.get("/api/v1/me", headers=caller.headers), 401)


async def test_expired_token_is_401(client, factory) -> None:
    expired = await factory.user("admin", expires_in=timedelta(seconds=-1))
    body = assert_problem(await client.get("/api/v1/me", headers=expired.headers), 401)
    assert expired.token not in str(body)
    live = await factory.user("admin", expires_in=timedelta(minutes=5))
    assert (await client.get("/api/v1/me", headers=live.headers)).status_code == 200


async def test_missing_or_bad_credentials_are_401(client) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer dt_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "dtk_not-a-real-key"},
        {"X-API-Key": ""},
    ):
        response = await client.get("/api/v1/me", headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer", headers


async def test_sixth_attempt_after_five_failures_is_throttled(client, db, staff_login) -> None:
    _, email, _ = staff_login
    for _ in range(5):
        assert_problem(await _login(client, email, "wrong-password"), 401)
    # Even the right password is refused now, with 429 and no token issued.
    response = await _login(client, email, PASSWORD)
    body = assert_problem(response, 429)
    assert "access_token" not in body
    assert body["retry_after_seconds"] == 300
    assert await db.fetchval("SELECT count(*) FROM login_attempts WHERE email = $1", email) == 5
    assert await db.fetchval("SELECT count(*) FROM auth_tokens") == 1  # the factory's only


async def test_throttling_is_per_account(client, factory, staff_login) -> None:
    _, email, _ = staff_login
    other_email = "can.bo@dienbien.gov.vn"
    await factory.user(
        "province_officer",
        province=DIEN_BIEN,
        email=other_email,
        password_hash=hash_password(PASSWORD),
    )
    for _ in range(5):
        assert_problem(await _login(client, email, "wrong-password"), 401)
    assert_problem(await _login(client, email, PASSWORD), 429)
    assert (await _login(client, other_email, PASSWORD)).status_code == 200


async def test_failures_older_than_the_window_do_not_count(client, db, staff_login) -> None:
    _, email, _ = staff_login
    for _ in range(5):
        assert_problem(await _login(client, email, "wrong-password"), 401)
    await db.execute("UPDATE login_attempts SET at = now() - interval '301 seconds'")
    assert (await _login(client, email, PASSWORD)).status_code == 200


async def test_success_before_the_limit_clears_the_failures(client, db, staff_login) -> None:
    _, email, _ = staff_login
    for _ in range(4):
        assert_problem(await _login(client, email, "wrong-password"), 401)
    assert (await _login(client, email, PASSWORD)).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM login_attempts WHERE email = $1", email) == 0
    for _ in range(4):
        assert_problem(await _login(client, email, "wrong-password"), 401)
    assert (await _login(client, email, PASSWORD)).status_code == 200


async def test_login_body_is_validated(client) -> None:
    body = assert_problem(await client.post(LOGIN, json={"email": "a@b.vn"}), 400)
    assert any(e.get("field") == "password" for e in body["errors"]), body
    body = assert_problem(
        await client.post(LOGIN, json={"email": "a@b.vn", "password": "x", "remember": True}), 400
    )
    assert any(e.get("field") == "remember" for e in body["errors"]), body


async def test_me_for_each_role(client, factory) -> None:
    school_a = await factory.school(DIEN_BIEN)
    school_b = await factory.school(DIEN_BIEN)
    donor_id = await factory.donor("Quỹ Vì trẻ em")
    cases = [
        (await factory.admin(), {"province_code": None, "school_ids": [], "donor_id": None}),
        (
            await factory.officer(DIEN_BIEN),
            {"province_code": DIEN_BIEN, "school_ids": [], "donor_id": None},
        ),
        (
            await factory.staff(school_b, school_a),
            {"province_code": None, "school_ids": sorted([school_a, school_b]), "donor_id": None},
        ),
        (
            await factory.donor_user(donor_id),
            {"province_code": None, "school_ids": [], "donor_id": donor_id},
        ),
    ]
    for caller, scope in cases:
        response = await client.get("/api/v1/me", headers=caller.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == caller.user_id
        assert body["role"] == caller.role
        assert body["email"].endswith("@test.devicetrack.vn")
        assert body["full_name"].startswith("Người dùng ")
        assert body["locale"] == "vi"
        for key, value in scope.items():
            assert body[key] == value, (caller.role, key, body)
        assert "password_hash" not in body and "password" not in body

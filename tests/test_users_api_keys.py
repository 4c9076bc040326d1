"""User administration and API keys: admin only, keys shown once, usable in both headers,
revocable."""

from __future__ import annotations

from devicetrack.auth.secrets import token_digest
from tests.factories import DIEN_BIEN, LAI_CHAU, assert_problem

USERS = "/api/v1/users"
KEYS = "/api/v1/api-keys"


async def test_admin_creates_a_user_who_can_then_sign_in(client, db, factory) -> None:
    admin = await factory.admin()
    school = await factory.school(DIEN_BIEN)
    response = await client.post(
        USERS,
        json={
            "email": "Lo.Thi.Mai@MuongCha.edu.vn",
            "full_name": "Lò Thị Mai",
            "password": "một-mật-khẩu-dài",
            "role": "school_staff",
            "school_ids": [school, school],
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["email"] == "lo.thi.mai@muongcha.edu.vn"
    assert user["full_name"] == "Lò Thị Mai"
    assert user["role"] == "school_staff" and user["school_ids"] == [school]
    assert user["active"] is True
    assert "password" not in user and "password_hash" not in user
    stored = await db.fetchrow(
        "SELECT full_name, password_hash FROM users WHERE id = $1", user["id"]
    )
    assert stored["full_name"] == "Lò Thị Mai"
    assert stored["password_hash"].startswith("$argon2id$")
    assert "một-mật-khẩu-dài" not in stored["password_hash"]
    assert await db.fetchval(
        "SELECT array_agg(school_id) FROM user_schools WHERE user_id = $1", user["id"]
    ) == [school]

    token = await client.post(
        "/api/v1/auth/token",
        json={"email": "lo.thi.mai@muongcha.edu.vn", "password": "một-mật-khẩu-dài"},
    )
    assert token.status_code == 200, token.text
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json()["id"] == user["id"] and me.json()["school_ids"] == [school]

    listed = await client.get(USERS, headers=admin.headers)
    assert listed.status_code == 200
    assert {u["id"] for u in listed.json()["items"]} == {admin.user_id, user["id"]}
    fetched = await client.get(f"{USERS}/{user['id']}", headers=admin.headers)
    assert fetched.status_code == 200 and fetched.json() == user


async def test_user_rules(client, db, factory) -> None:
    admin = await factory.admin()
    base = {"full_name": "Cán bộ", "password": "mật-khẩu-dài-đủ", "locale": "vi"}
    first = await client.post(
        USERS,
        json={
            **base,
            "email": "canbo@dienbien.gov.vn",
            "role": "province_officer",
            "province_code": DIEN_BIEN,
        },
        headers=admin.headers,
    )
    assert first.status_code == 201, first.text
    assert first.json()["province_code"] == DIEN_BIEN

    duplicate = assert_problem(
        await client.post(
            USERS,
            json={**base, "email": "CanBo@dienbien.gov.vn", "role": "admin"},
            headers=admin.headers,
        ),
        409,
    )
    assert duplicate["errors"] == [{"field": "email", "message": "already in use"}]

    no_scope = assert_problem(
        await client.post(
            USERS,
            json={**base, "email": "x@y.vn", "role": "province_officer"},
            headers=admin.headers,
        ),
        422,
    )
    assert no_scope["errors"][0]["field"] == "province_code"
    unknown_donor = assert_problem(
        await client.post(
            USERS,
            json={**base, "email": "d@y.vn", "role": "donor", "donor_id": 999_999},
            headers=admin.headers,
        ),
        422,
    )
    assert unknown_donor["errors"][0]["field"] == "donor_id"
    short = assert_problem(
        await client.post(
            USERS,
            json={**base, "email": "s@y.vn", "role": "admin", "password": "short"},
            headers=admin.headers,
        ),
        400,
    )
    assert short["errors"][0]["field"] == "password"
    assert await db.fetchval("SELECT count(*) FROM users") == 2
    assert_problem(await client.get(f"{USERS}/999999", headers=admin.headers), 404)
    assert_problem(
        await client.patch(f"{USERS}/999999", json={"active": False}, headers=admin.headers), 404
    )
    # A new role's province must exist (as for an invitation); null is no province at all.
    staff = await factory.staff(await factory.school())
    for province in ("99", None):
        nowhere = assert_problem(
            await client.patch(
                f"{USERS}/{staff.user_id}",
                json={"role": "province_officer", "province_code": province},
                headers=admin.headers,
            ),
            422,
        )
        assert nowhere["errors"][0]["field"] == "province_code"
    assert await db.fetchval("SELECT role FROM users WHERE id = $1", staff.user_id) == (
        "school_staff"
    )


async def test_password_change_ends_existing_sessions(client, db, factory) -> None:
    admin = await factory.admin()
    officer = await factory.officer()
    response = await client.patch(
        f"{USERS}/{officer.user_id}", json={"password": "mật-khẩu-mới-2025"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert_problem(await client.get("/api/v1/me", headers=officer.headers), 401)
    login = await client.post(
        "/api/v1/auth/token",
        json={"email": response.json()["email"], "password": "mật-khẩu-mới-2025"},
    )
    assert login.status_code == 200, login.text


async def test_api_key_is_shown_once_and_works_in_both_headers(client, db, factory) -> None:
    admin = await factory.admin()
    school = await factory.school(DIEN_BIEN)
    integration = await factory.staff(school)
    created = await client.post(
        KEYS, json={"name": "Hệ thống SMAS", "user_id": integration.user_id}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("dtk_") and len(key) > 30
    assert body["name"] == "Hệ thống SMAS" and body["user_id"] == integration.user_id

    row = await db.fetchrow("SELECT * FROM api_keys WHERE id = $1", body["id"])
    assert row["key_hash"] == token_digest(key)
    assert key not in [str(v) for v in row.values()]
    assert row["created_by"] == admin.user_id and row["revoked_at"] is None
    assert row["last_used_at"] is None

    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        me = await client.get("/api/v1/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == integration.user_id
        assert me.json()["role"] == "school_staff" and me.json()["school_ids"] == [school]
    # The key acts with its user's role: a staff key cannot administer.
    assert_problem(await client.get(USERS, headers={"X-API-Key": key}), 403)
    assert await db.fetchval(
        "SELECT last_used_at IS NOT NULL FROM api_keys WHERE id = $1", body["id"]
    )

    listed = await client.get(KEYS, headers=admin.headers)
    assert listed.status_code == 200
    assert key not in listed.text
    (item,) = listed.json()["items"]
    assert "key" not in item and "key_hash" not in item
    assert item["id"] == body["id"] and item["name"] == "Hệ thống SMAS"
    assert key.startswith(item["prefix"]) and len(item["prefix"]) < len(key) // 2
    assert item["revoked_at"] is None and item["last_used_at"] is not None


async def test_revoked_api_key_is_refused(client, db, factory) -> None:
    admin = await factory.admin()
    officer = await factory.officer()
    keys = []
    for name in ("one", "two"):
        created = await client.post(
            KEYS, json={"name": name, "user_id": officer.user_id}, headers=admin.headers
        )
        keys.append(created.json())
    revoke, keep = keys
    assert (await client.get("/api/v1/me", headers={"X-API-Key": revoke["key"]})).status_code == 200

    response = await client.delete(f"{KEYS}/{revoke['id']}", headers=admin.headers)
    assert response.status_code == 204, response.text
    assert await db.fetchval(
        "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1", revoke["id"]
    )
    for headers in ({"Authorization": f"Bearer {revoke['key']}"}, {"X-API-Key": revoke["key"]}):
        assert_problem(await client.get("/api/v1/me", headers=headers), 401)
    # The other key of the same user still works; the list shows the revocation.
    assert (await client.get("/api/v1/me", headers={"X-API-Key": keep["key"]})).status_code == 200
    items = {k["id"]: k for k in (await client.get(KEYS, headers=admin.headers)).json()["items"]}
    assert items[revoke["id"]]["revoked_at"] is not None
    assert items[keep["id"]]["revoked_at"] is None

    assert_problem(await client.delete(f"{KEYS}/999999", headers=admin.headers), 404)


async def test_api_key_of_a_deactivated_user_is_refused(client, factory) -> None:
    admin = await factory.admin()
    officer = await factory.officer()
    key = (
        await client.post(
            KEYS, json={"name": "etl", "user_id": officer.user_id}, headers=admin.headers
        )
    ).json()["key"]
    await client.patch(f"{USERS}/{officer.user_id}", json={"active": False}, headers=admin.headers)
    assert_problem(await client.get("/api/v1/me", headers={"X-API-Key": key}), 401)


async def test_api_key_for_an_unknown_user_is_refused(client, db, factory) -> None:
    admin = await factory.admin()
    body = assert_problem(
        await client.post(KEYS, json={"name": "x", "user_id": 999_999}, headers=admin.headers),
        422,
    )
    assert body["errors"][0]["field"] == "user_id"
    assert await db.fetchval("SELECT count(*) FROM api_keys") == 0


async def test_staff_and_donors_get_403_on_users_and_api_keys(client, db, factory) -> None:
    """Staff and donors manage no user and no key; officers manage no key, create no user
    with a password and cannot change their own access (their province's users: below)."""
    school = await factory.school(DIEN_BIEN)
    donor = await factory.donor()
    admin = await factory.admin()
    key_id = (
        await client.post(KEYS, json={"name": "k", "user_id": admin.user_id}, headers=admin.headers)
    ).json()["id"]
    officer = await factory.officer(DIEN_BIEN)
    callers = [officer, await factory.staff(school), await factory.donor_user(donor)]
    new_user = {
        "email": "evil@x.vn",
        "full_name": "x",
        "password": "mật-khẩu-dài-đủ",
        "role": "admin",
    }
    for caller in callers:
        h = caller.headers
        refused = [
            await client.post(USERS, json=new_user, headers=h),
            await client.patch(f"{USERS}/{caller.user_id}", json={"active": True}, headers=h),
            await client.get(KEYS, headers=h),
            await client.post(KEYS, json={"name": "k", "user_id": caller.user_id}, headers=h),
            await client.delete(f"{KEYS}/{key_id}", headers=h),
        ]
        if caller is not officer:
            refused += [
                await client.get(USERS, headers=h),
                await client.get(f"{USERS}/{caller.user_id}", headers=h),
                await client.post(f"{USERS}/{admin.user_id}/password-reset", headers=h),
            ]
        for response in refused:
            assert_problem(response, 403)
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = 'evil@x.vn'") == 0
    assert await db.fetchval("SELECT count(*) FROM api_keys") == 1
    assert await db.fetchval("SELECT revoked_at FROM api_keys WHERE id = $1", key_id) is None
    # Unauthenticated callers get 401, not 403.
    assert_problem(await client.get(USERS), 401)


async def test_an_officer_manages_the_users_of_their_province_only(client, db, factory) -> None:
    here = await factory.school(DIEN_BIEN)
    there = await factory.school(LAI_CHAU)
    donor = await factory.donor()
    officer = await factory.officer(DIEN_BIEN)
    colleague = await factory.officer(DIEN_BIEN)
    staff_here = await factory.staff(here)
    staff_there = await factory.staff(there)
    staff_both = await factory.staff(here, there)
    officer_there = await factory.officer(LAI_CHAU)
    donor_user = await factory.donor_user(donor)
    admin = await factory.admin()
    h = officer.headers

    listed = await client.get(USERS, headers=h)
    assert listed.status_code == 200, listed.text
    assert {u["id"] for u in listed.json()["items"]} == {
        officer.user_id,
        colleague.user_id,
        staff_here.user_id,
    }
    staff_only = await client.get(USERS, params={"role": "school_staff"}, headers=h)
    assert [u["id"] for u in staff_only.json()["items"]] == [staff_here.user_id]

    for outside in (staff_there, staff_both, officer_there, donor_user, admin):
        assert_problem(await client.get(f"{USERS}/{outside.user_id}", headers=h), 404)
        assert_problem(
            await client.patch(f"{USERS}/{outside.user_id}", json={"active": False}, headers=h),
            404,
        )
        assert_problem(
            await client.post(f"{USERS}/{outside.user_id}/password-reset", headers=h), 404
        )
    assert await db.fetchval("SELECT bool_and(active) FROM users") is True

    # Within the province: deactivate, move to another school of it, but not out of it,
    # nor to a role only an administrator gives, nor set a password.
    other_here = await factory.school(DIEN_BIEN)
    moved = await client.patch(
        f"{USERS}/{staff_here.user_id}", json={"school_ids": [other_here]}, headers=h
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["school_ids"] == [other_here]
    out = assert_problem(
        await client.patch(
            f"{USERS}/{staff_here.user_id}", json={"school_ids": [there]}, headers=h
        ),
        422,
    )
    assert out["errors"] == [{"field": "school_ids", "message": "no such school"}]
    assert_problem(
        await client.patch(f"{USERS}/{staff_here.user_id}", json={"role": "admin"}, headers=h), 403
    )
    assert_problem(
        await client.patch(
            f"{USERS}/{staff_here.user_id}", json={"password": "mật-khẩu-mới-2025"}, headers=h
        ),
        403,
    )
    off = await client.patch(f"{USERS}/{colleague.user_id}", json={"active": False}, headers=h)
    assert off.status_code == 200 and off.json()["active"] is False
    assert_problem(await client.get("/api/v1/me", headers=colleague.headers), 401)
    assert (
        await db.fetchval("SELECT role FROM users WHERE id = $1", staff_here.user_id)
        == "school_staff"
    )
    assert await db.fetchval(
        "SELECT array_agg(school_id) FROM user_schools WHERE user_id = $1", staff_here.user_id
    ) == [other_here]

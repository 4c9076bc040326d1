"""The authorization matrix: every operation of the OpenAPI schema, called by every role on
objects outside the caller's scope, never succeeds; callers without valid credentials get
401 everywhere; and no student's name reaches a donor or a province officer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.factories import DIEN_BIEN, LAI_CHAU

STUDENT_NAME = "Lò Thị Zzyzx Bí Mật"
GUARDIAN_NAME = "Lò Văn Qwxyz Phụ Huynh"
# A guardian's signature kept with each loan (a 1×1 PNG: evidence is judged by content).
_SIGNATURE = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478"
    "9c63606060f80f00010401005fe5c34b0000000049454e44ae426082"
)


async def _world(client, factory, db):
    """Two provinces, each with a school, a donor and donation, devices, a student with
    consent and a loan, an allocation, an audit and a label batch."""
    admin = await factory.admin()
    h = admin.headers
    world: dict = {"admin": admin}
    for side, province in (("a", DIEN_BIEN), ("b", LAI_CHAU)):
        school = await factory.school(province, name=f"Trường {side.upper()}")
        donor = await factory.donor(name=f"Donor {side.upper()}")
        donation = (
            await client.post(
                "/api/v1/donations",
                headers=h,
                json={"donor_id": donor, "province_code": province, "reference": f"REF-{side}"},
            )
        ).json()
        tags = (
            await client.post(
                f"/api/v1/donations/{donation['id']}/devices",
                headers=h,
                json=[{"kind": "tablet", "serial": f"{side}-T{i}"} for i in range(3)],
            )
        ).json()["asset_tags"]
        allocation = (
            await client.post(
                "/api/v1/allocations", headers=h, json={"school_id": school, "asset_tags": tags[:2]}
            )
        ).json()
        await client.post(
            f"/api/v1/schools/{school}/receipts", headers=h, json={"asset_tags": tags[:2]}
        )
        student = (
            await client.post(
                "/api/v1/students",
                headers=h,
                json={
                    "school_id": school,
                    "student_code": f"HS-{side}",
                    "full_name": STUDENT_NAME,
                    "grade": 8,
                    "guardian_name": GUARDIAN_NAME,
                    "priority": ["remote"],
                },
            )
        ).json()
        consent = (
            await client.post(
                f"/api/v1/students/{student['id']}/consents",
                headers=h,
                json={"given_by": GUARDIAN_NAME, "method": "paper", "given_at": "2025-09-01"},
            )
        ).json()
        assignment = (
            await client.post(
                "/api/v1/assignments",
                headers=h,
                json={"asset_tag": tags[0], "student_id": student["id"]},
            )
        ).json()
        evidence = (
            await client.post(
                f"/api/v1/assignments/{assignment['id']}/evidence",
                headers=h,
                files={"file": ("s.png", _SIGNATURE, "image/png")},
                data={"kind": "signature", "signer": GUARDIAN_NAME},
            )
        ).json()
        audit = (await client.post("/api/v1/audits", headers=h, json={"school_id": school})).json()
        batch = (
            await client.post(
                "/api/v1/label-batches", headers=h, json={"province_code": province, "count": 2}
            )
        ).json()
        officer = await factory.officer(province)
        staff = await factory.staff(school)
        donor_user = await factory.donor_user(donor)
        key = (
            await client.post(
                "/api/v1/api-keys",
                headers=h,
                json={"name": f"key {side}", "user_id": officer.user_id},
            )
        ).json()
        invitation = (
            await client.post(
                "/api/v1/users/invitations",
                headers=h,
                json={
                    "email": f"invited-{side}@school.vn",
                    "full_name": f"Invited {side}",
                    "role": "school_staff",
                    "school_ids": [school],
                },
            )
        ).json()
        # A webhook of the province and a delivery of it (written in SQL: the API refuses a
        # target it cannot resolve, and these tests make no requests out).
        webhook = await db.fetchval(
            "INSERT INTO webhook_subscriptions (url, events, secret, province_code)"
            " VALUES ($1, ARRAY['device.registered'], 'whsec_dGVzdA==', $2) RETURNING id",
            f"https://hooks.example.org/{side}",
            province,
        )
        message = await db.fetchval(
            "INSERT INTO webhook_messages (event_type, province_code, data)"
            " VALUES ('device.registered', $1, '{}') RETURNING id",
            province,
        )
        delivery = await db.fetchval(
            "INSERT INTO webhook_deliveries (message_id, subscription_id, status)"
            " VALUES ($1, $2, 'failed') RETURNING id",
            message,
            webhook,
        )
        world[side] = {
            "webhook_id": webhook,
            "delivery_id": delivery,
            "school_id": school,
            "donor_id": donor,
            "donation_id": donation["id"],
            "asset_tag": tags[1],
            "student_id": student["id"],
            "consent_id": consent["id"],
            "assignment_id": assignment["id"],
            "allocation_id": allocation["id"],
            "evidence_id": evidence["id"],
            "audit_id": audit["id"],
            "batch_id": batch["id"],
            "user_id": officer.user_id,
            "key_id": key["id"],
            "invitation_id": invitation["id"],
            "province": province,
            "callers": {"province_officer": officer, "school_staff": staff, "donor": donor_user},
        }
    return world


# Operations for callers without an account: signing in, and what a forgotten password or
# an invitation needs (their own tests: tests/test_accounts.py).
PUBLIC = {"createToken", "requestPasswordReset", "confirmPasswordReset", "acceptInvitation"}


def _operations(schema: dict) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
        and path.startswith("/api/v1")
        and operation.get("operationId") not in PUBLIC
    ]


def _fill(path: str, objects: dict) -> str | None:
    values = {"action": "retire", "code": objects["asset_tag"], **objects}
    if "{code}" in path and "/provinces/" in path:
        return None  # the administrative units are public reference data
    try:
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
    except KeyError as exc:
        raise AssertionError(f"no object for {exc} in {path}") from None


@pytest.mark.parametrize("role", ["province_officer", "school_staff", "donor"])
async def test_nothing_outside_the_callers_scope_succeeds(client, factory, db, role) -> None:
    world = await _world(client, factory, db)
    schema = (await client.get("/schema/openapi.json")).json()
    caller = world["a"]["callers"][role]
    leaks = []
    for method, path in _operations(schema):
        if "{" not in path:
            continue
        if method == "GET" and "{donor_id}" in path and role != "donor":
            # The donor register is shared reference data; a donor's impact report shows an
            # officer only their own province's part of it.
            continue
        url = _fill(path, world["b"])
        if url is None:
            continue
        response = await client.request(
            method,
            url,
            headers=caller.headers,
            json={} if method in ("POST", "PUT", "PATCH") else None,
        )
        if response.status_code < 400 or response.status_code >= 500:
            leaks.append(f"{role} {method} {url} -> {response.status_code}")
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("role", ["province_officer", "school_staff", "donor"])
async def test_lists_hold_nothing_from_outside_the_scope(client, factory, db, role) -> None:
    world = await _world(client, factory, db)
    schema = (await client.get("/schema/openapi.json")).json()
    caller = world["a"]["callers"][role]
    b = world["b"]
    markers = [b["asset_tag"], "HS-b", "REF-b", "Trường B"]
    leaks = []
    for method, path in _operations(schema):
        if method != "GET" or "{" in path or path.endswith("/export"):
            continue
        response = await client.get(path, headers=caller.headers)
        assert response.status_code < 500, (path, response.text)
        leaks += [f"{role} GET {path} shows {m}" for m in markers if m in response.text]
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("role", ["province_officer", "donor"])
async def test_no_student_name_reaches_donors_or_officers(client, factory, db, role) -> None:
    world = await _world(client, factory, db)
    schema = (await client.get("/schema/openapi.json")).json()
    a = world["a"]
    caller = a["callers"][role]
    seen = 0
    for method, path in _operations(schema):
        if method != "GET":
            continue
        url = _fill(path, a) if "{" in path else path
        if url is None:
            continue
        response = await client.get(url, headers=caller.headers)
        assert response.status_code < 500, (url, response.text)
        seen += response.status_code == 200
        for name in (STUDENT_NAME, GUARDIAN_NAME, "Zzyzx", "Qwxyz"):
            assert name not in response.text, f"{role} sees {name!r} at {url}"
    assert seen > 10  # the caller really read things


@pytest.mark.parametrize("credential", ["none", "expired", "deactivated", "garbage"])
async def test_without_valid_credentials_every_operation_is_401(
    client, factory, db, credential
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    headers: dict[str, str] = {}
    if credential == "expired":
        headers = (await factory.user("admin", expires_in=timedelta(seconds=-1))).headers
    elif credential == "deactivated":
        headers = (await factory.user("admin", active=False)).headers
    elif credential == "garbage":
        headers = {"Authorization": "Bearer dt_not-a-token"}
    objects = {
        "school_id": 1,
        "donor_id": 1,
        "donation_id": 1,
        "asset_tag": "DT11-000001-0",
        "student_id": 1,
        "consent_id": 1,
        "assignment_id": 1,
        "allocation_id": 1,
        "evidence_id": 1,
        "audit_id": 1,
        "batch_id": 1,
        "user_id": 1,
        "key_id": 1,
        "invitation_id": 1,
        "webhook_id": 1,
        "delivery_id": 1,
    }
    wrong = []
    for method, path in _operations(schema):
        url = _fill(path, objects) or path.replace("{code}", "11")
        response = await client.request(
            method, url, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None
        )
        if response.status_code != 401:
            wrong.append(f"{method} {url} -> {response.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_the_account_and_mail_operations_per_role(client, factory, db) -> None:
    """Who may do what with invitations, the mail records and their own account: the
    status each role gets (403: the role may not; 201/200/422: it may, and was heard)."""
    school = await factory.school(DIEN_BIEN)
    donor = await factory.donor()
    callers = {
        "admin": await factory.admin(),
        "province_officer": await factory.officer(DIEN_BIEN),
        "school_staff": await factory.staff(school),
        "donor": await factory.donor_user(donor),
    }
    n = iter(range(1000))

    def invite():
        return {
            "email": f"p{next(n)}@school.vn",
            "full_name": "P",
            "role": "school_staff",
            "school_ids": [school],
        }

    csv = b"email,full_name,role,school_codes\n"
    cases = [
        ("POST", "/api/v1/users/invitations", invite, (201, 201, 403, 403)),
        ("GET", "/api/v1/users/invitations", None, (200, 200, 403, 403)),
        (
            "POST",
            "/api/v1/users/invitations/sheets",
            lambda: {"ids": [999999]},
            (404, 404, 403, 403),
        ),
        ("GET", "/api/v1/mail/messages", None, (200, 403, 403, 403)),
        ("GET", "/api/v1/mail/messages?status=failed", None, (200, 403, 403, 403)),
        ("PATCH", "/api/v1/me", lambda: {"locale": "vi"}, (200, 200, 200, 200)),
        ("GET", "/api/v1/me/digests", None, (200, 200, 200, 200)),
        # Audits-due digests go to staff and officers; admins and donors get none to choose.
        (
            "PATCH",
            "/api/v1/me/digests",
            lambda: {"receive": {"audits_due": False}},
            (422, 200, 200, 422),
        ),
        (
            "POST",
            "/api/v1/me/password",
            lambda: {"current_password": "not-it", "new_password": "long-enough-1"},
            (422, 422, 422, 422),
        ),
    ]
    wrong = []
    for method, path, body, expected in cases:
        for (role, caller), status in zip(callers.items(), expected, strict=True):
            got = await client.request(
                method, path, headers=caller.headers, json=body() if body else None
            )
            if got.status_code != status:
                wrong.append(f"{role} {method} {path}: {got.status_code}, expected {status}")
    for role, caller in callers.items():
        got = await client.post(
            "/api/v1/users/import", headers=caller.headers, files={"file": ("x.csv", csv)}
        )
        expected = 422 if role in ("admin", "province_officer") else 403  # no rows: heard
        if got.status_code != expected:
            wrong.append(f"{role} POST /users/import: {got.status_code}, expected {expected}")
    assert not wrong, "\n".join(wrong)

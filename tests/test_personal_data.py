"""Personal data (SPEC §1, §2 Student): a student's name, national ID and guardian reach
only the staff of the student's school and admins. Donors and province officers call
every GET endpoint of the API and never see them; staff can export everything about a
student, and erasing a student keeps the device history."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from tests.factories import Caller, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.test_evidence import signature_png

# Distinctive, ASCII-bearing values, so no encoding can hide them from the search.
NAME = "Lò Thị Mai Zzyzx"
GUARDIAN = "Mùa Văn Quorv"
GIVER = "Sùng A Qwyxz"
EVIDENCE = "scan-evid-kjvq.pdf"
NATIONAL_ID = "011298765431"
PHONE = "0987001122"
# The phone is stored as +84987001122: search for its national digits, found in either form.
SECRETS = ("Zzyzx", "Quorv", "Qwyxz", "kjvq", NATIONAL_ID, PHONE[1:])


async def _story(scene: Scene) -> dict[str, Any]:
    """A student with consent who borrows a tablet with a SIM, at a school that was
    allocated stock, audited and reported on."""
    client, staff = scene.client, scene.staff_a
    # A province's webhook, subscribed before the story: its outbox and deliveries are
    # read by the sweep like every other answer.
    webhook = await scene.db.fetchval(
        "INSERT INTO webhook_subscriptions (url, events, secret, province_code)"
        " VALUES ('https://hooks.example.org/dt', ARRAY['device.assigned', 'device.returned',"
        " 'device.registered'], 'whsec_cGVyc29uYWwtZGF0YQ==', '11') RETURNING id"
    )
    tablet, sim, spare = await scene.intake(
        {"kind": "tablet", "serial": "PD-T1"},
        {
            "kind": "sim",
            "iccid": "8984040000000000001",
            "plan_expires_on": (local_today() + timedelta(days=10)).isoformat(),
        },
        {"kind": "laptop", "serial": "PD-L1"},
    )
    await scene.act(scene.officer, tablet, "install-sim", sim=sim)
    allocation = await scene.allocate([tablet, spare])
    await scene.receive([tablet, spare])
    student = await scene.student(
        full_name=NAME,
        national_id=NATIONAL_ID,
        birth_year=2013,
        guardian_name=GUARDIAN,
        guardian_phone=PHONE,
        priority=["ethnic_minority"],
    )
    consent = await client.post(
        f"{API}/students/{student['id']}/consents",
        headers=staff.headers,
        json={"given_by": GIVER, "method": "paper", "evidence": EVIDENCE, "given_at": "2025-09-05"},
    )
    assert consent.status_code == 201, consent.text
    # Staff write free text too, and a note may name the student.
    loan = await scene.lend(
        tablet,
        student["id"],
        due_back_on=local_today().isoformat(),
        note=f"lent to {NAME}, guardian {GUARDIAN} signed",
    )
    # The guardian's signature kept with the loan names them.
    signed = await client.post(
        f"{API}/assignments/{loan['id']}/evidence",
        headers=staff.headers,
        files={"file": ("s.png", signature_png(), "image/png")},
        data={"kind": "signature", "signer": GUARDIAN},
    )
    assert signed.status_code == 201, signed.text
    audit = await client.post(
        f"{API}/audits", headers=staff.headers, json={"school_id": scene.school_a}
    )
    assert audit.status_code == 201, audit.text
    scanned = await client.post(
        f"{API}/audits/{audit.json()['id']}/scans",
        headers=staff.headers,
        json={"code": tablet, "condition": "good"},
    )
    assert scanned.status_code in (200, 201), scanned.text
    batch = await client.post(
        f"{API}/label-batches",
        headers=scene.officer.headers,
        json={"province_code": "11", "count": 2},
    )
    assert batch.status_code == 201, batch.text
    await scene.db.execute(
        "INSERT INTO enrolments (school_id, school_year, students_total, priority_students)"
        " SELECT $1, y, 100, 10 FROM unnest(ARRAY['2024-2025','2025-2026','2026-2027']) y",
        scene.school_a,
    )
    return {
        "tablet": tablet,
        "sim": sim,
        "student": student["id"],
        "consent": consent.json()["id"],
        "loan": loan["id"],
        "allocation": allocation["id"],
        "audit": audit.json()["id"],
        "batch": batch.json()["id"],
        "evidence": signed.json()["id"],
        "webhook": webhook,
    }


def _urls(schema: dict[str, Any], scene: Scene, ids: dict[str, Any], caller: Caller) -> list[str]:
    """Every GET path of the API with its parameters filled from the story, with the
    variants that change what a response holds (formats, filters, searches)."""
    values: dict[str, list[Any]] = {
        "user_id": [caller.user_id, scene.staff_a.user_id],
        "school_id": [scene.school_a],
        "donor_id": [scene.donor_id],
        "donation_id": [scene.donation_id],
        "batch_id": [ids["batch"]],
        "asset_tag": [ids["tablet"], ids["sim"]],
        "allocation_id": [ids["allocation"]],
        "student_id": [ids["student"]],
        "assignment_id": [ids["loan"]],
        "audit_id": [ids["audit"]],
        "consent_id": [ids["consent"]],
        "evidence_id": [ids["evidence"]],
        "webhook_id": [ids["webhook"]],
        # The story invites nobody: an invitation's page answers 404 or 403 here, and still
        # must not leak (tests/test_accounts.py reads real ones).
        "invitation_id": [1],
    }
    variants: dict[str, list[str]] = {
        "/api/v1/provinces/{code}/communes": ["11"],
        "/api/v1/scan/{code}": [ids["tablet"], ids["sim"], "8984040000000000001", "PD-T1"],
    }
    queries: dict[str, list[str]] = {
        "/api/v1/students": [
            "",
            "?q=Zzyzx",
            "?q=Mai",
            "?school={school_a}",
            "?priority=ethnic_minority",
        ],
        "/api/v1/assignments": ["", "?open=true", "?overdue=false", "?student={student}"],
        "/api/v1/schools/{school_id}/loans": ["", "?overdue=true", "?overdue=false"],
        "/api/v1/devices": ["", "?status=assigned", "?q={tablet}"],
        "/api/v1/devices/export": ["?format=csv", "?format=csv&status=assigned"],
        "/api/v1/devices/{asset_tag}/events": ["", "?limit=1000"],
        "/api/v1/audits/{audit_id}": ["", "?format=csv"],
        "/api/v1/reports/coverage": [
            "?level=school",
            "?level=school&format=csv",
            "?level=commune",
            "?level=province",
        ],
        "/api/v1/reports/gaps": ["", "?level=school"],
        "/api/v1/reports/sim-expiry": ["", "?within_days=365"],
        "/api/v1/reports/audit-due": ["", "?days=1"],
        "/api/v1/label-batches/{batch_id}": [""],
        "/api/v1/devices/{asset_tag}/label.svg": [""],
    }
    fill = {"school_a": scene.school_a, "student": ids["student"], "tablet": ids["tablet"]}
    urls: list[str] = []
    for path, item in schema["paths"].items():
        if "get" not in item:
            continue
        names = [p["name"] for p in item["get"].get("parameters", []) if p["in"] == "path"]
        expanded = [path]
        for name in names:
            options = variants.get(path, values.get(name))
            assert options, f"no value for {{{name}}} in {path}: extend the test"
            expanded = [u.replace(f"{{{name}}}", str(v)) for u in expanded for v in options]
        for url in expanded:
            urls += [url + q.format(**fill) for q in queries.get(path, [""])]
    return urls


def _leaks(text: str) -> list[str]:
    with contextlib.suppress(ValueError):
        # Also JSON-decoded, in case a value came back \\u-escaped.
        text += json.dumps(json.loads(text), ensure_ascii=False)
    return [s for s in SECRETS if s.lower() in text.lower()]


async def _sweep(
    client: AsyncTestClient, urls: list[str], caller: Caller
) -> dict[str, tuple[int, str]]:
    seen: dict[str, tuple[int, str]] = {}
    for url in urls:
        response = await client.get(url, headers=caller.headers)
        assert response.status_code < 500, (url, response.text)
        body = response.content.decode("utf-8", errors="replace")
        seen[url] = (response.status_code, body)
    return seen


async def test_donors_and_officers_never_see_who_a_student_is(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    ids = await _story(scene)
    schema = (await client.get("/schema/openapi.json")).json()

    # The data is there: the school's staff and admins see it.
    for caller in (scene.staff_a, scene.admin):
        urls = _urls(schema, scene, ids, caller)
        seen = await _sweep(client, urls, caller)
        student = json.loads(seen[f"{API}/students/{ids['student']}"][1])
        assert (student["full_name"], student["guardian_name"]) == (NAME, GUARDIAN)
        consents = json.loads(seen[f"{API}/students/{ids['student']}/consents"][1])
        assert consents["items"][0]["given_by"] == GIVER
        loan = json.loads(seen[f"{API}/assignments/{ids['loan']}"][1])
        assert loan["student_name"] == NAME

    for caller, readable in (
        (scene.officer, [f"{API}/students/{ids['student']}", f"{API}/assignments/{ids['loan']}"]),
        (scene.donor, [f"{API}/devices/{ids['tablet']}", f"{API}/devices/{ids['tablet']}/events"]),
    ):
        urls = _urls(schema, scene, ids, caller)
        seen = await _sweep(client, urls, caller)
        leaks = {url: _leaks(body) for url, (_, body) in seen.items() if _leaks(body)}
        assert leaks == {}, (caller.role, leaks)
        # The sweep reached real data, not only refusals.
        ok = [url for url, (status, _) in seen.items() if status == 200]
        assert len(ok) >= 20, (caller.role, ok)
        for url in readable:
            assert seen[url][0] == 200, (caller.role, url, seen[url])
        # Events still say which device went where, but not to whom.
        events = json.loads(seen[f"{API}/devices/{ids['tablet']}/events"][1])["items"]
        assert "assigned" in [e["action"] for e in events]
        assert all(e["student_id"] is None for e in events)
        if caller is scene.officer:
            # Searching by name finds nothing for someone who may not see names.
            assert json.loads(seen[f"{API}/students?q=Zzyzx"][1])["items"] == []
            assert len(json.loads(seen[f"{API}/students"][1])["items"]) == 1
    # The officer sees the loan and the pseudonymous student, never the name.
    officer_view = await client.get(
        f"{API}/students/{ids['student']}", headers=scene.officer.headers
    )
    assert officer_view.json()["student_code"] and "full_name" not in officer_view.json()
    assert "national_id" not in officer_view.json() and "guardian_name" not in officer_view.json()


async def test_staff_export_everything_and_erasure_keeps_the_history(client, db, factory) -> None:
    scene = await make_scene(client, db, factory)
    ids = await _story(scene)
    url = f"{API}/students/{ids['student']}"
    exported = await client.get(f"{url}/export", headers=scene.staff_a.headers)
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert {k: body["student"][k] for k in ("full_name", "national_id", "guardian_name")} == {
        "full_name": NAME,
        "national_id": NATIONAL_ID,
        "guardian_name": GUARDIAN,
    }
    assert (body["student"]["guardian_phone"], body["student"]["birth_year"]) == (
        "+84" + PHONE[1:],
        2013,
    )
    assert [(c["given_by"], c["evidence"]) for c in body["consents"]] == [(GIVER, EVIDENCE)]
    assert [(a["id"], a["asset_tag"], a["student_name"]) for a in body["assignments"]] == [
        (ids["loan"], ids["tablet"], NAME)
    ]
    for caller, status in (
        (scene.officer, 403),
        (scene.donor, 403),
        (scene.staff_b, 404),
        (scene.officer_other, 404),
    ):
        response = await client.get(f"{url}/export", headers=caller.headers)
        assert_problem(response, status)
        assert not _leaks(response.text)

    # Erasure waits until the device is back.
    assert_problem(await client.delete(url, headers=scene.staff_a.headers), 409)
    back = await client.post(
        f"{API}/assignments/{ids['loan']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": True},
    )
    assert back.status_code == 200, back.text
    history = await db.fetch(
        "SELECT id, device_id, action, student_id FROM device_events WHERE student_id = $1"
        " ORDER BY id",
        ids["student"],
    )
    assert len(history) >= 2  # lent and returned (and the SIM's own events)
    erased = await client.delete(url, headers=scene.staff_a.headers)
    assert erased.status_code == 204, erased.text

    row = await db.fetchrow("SELECT * FROM students WHERE id = $1", ids["student"])
    assert row["erased_at"] is not None
    assert (row["national_id"], row["birth_year"], row["guardian_name"], row["guardian_phone"]) == (
        None,
        None,
        None,
        None,
    )
    assert "Zzyzx" not in (row["full_name"] or "")
    assert row["student_code"]  # the pseudonymous code stays
    consents = await db.fetch("SELECT given_by, evidence FROM consents")
    assert [tuple(c) for c in consents] == [(None, None)]
    # The device history is all still there, and so are the loans.
    after = await db.fetch(
        "SELECT id, device_id, action, student_id FROM device_events WHERE student_id = $1"
        " ORDER BY id",
        ids["student"],
    )
    assert [tuple(r) for r in after] == [tuple(r) for r in history]
    assert (
        await db.fetchval("SELECT count(*) FROM assignments WHERE student_id = $1", ids["student"])
        == 1
    )
    # Nobody sees the erased values any more, not even the school.
    schema = (await client.get("/schema/openapi.json")).json()
    for caller in (scene.staff_a, scene.admin):
        seen = await _sweep(client, _urls(schema, scene, ids, caller), caller)
        leaks = {u: _leaks(b) for u, (_, b) in seen.items() if _leaks(b)}
        assert leaks == {}, (caller.role, leaks)
    read = (await client.get(url, headers=scene.staff_a.headers)).json()
    assert read["erased"] is True and read["status"] == "left"
    assert_problem(
        await client.patch(url, headers=scene.staff_a.headers, json={"full_name": NAME}), 409
    )

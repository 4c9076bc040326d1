"""The trigger-kept coverage counters equal a from-scratch computation of SPEC §5 after a
random sequence of intakes, allocations, receipts, SIM pairings, loans, returns, repairs,
losses, finds, transfers, retirements and student changes."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import text

from devicetrack.common.clock import local_today
from devicetrack.reports import coverage_sql
from devicetrack.reports.service import current_school_year
from tests.factories import DIEN_BIEN

FIGURES = (
    "devices_held",
    "devices_working",
    "devices_incoming",
    "students_with_device",
    "priority_with_device",
    "students_connected",
    "overdue_audit",
)


async def _from_scratch(db) -> dict[int, dict[str, int]]:
    today = local_today()
    sql = str(text(coverage_sql.FROM_SCRATCH)).replace(":today", "$1").replace(":cutoff", "$2")
    rows = await db.fetch(sql, today, today - timedelta(days=180))
    return {r["school_id"]: {f: r[f] for f in FIGURES} for r in rows}


async def _reported(client, headers) -> dict[int, dict[str, int]]:
    response = await client.get(
        "/api/v1/reports/coverage", params={"level": "school", "limit": 1000}, headers=headers
    )
    assert response.status_code == 200, response.text
    return {r["school_id"]: {f: r[f] for f in FIGURES} for r in response.json()["items"]}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_counters_match_a_from_scratch_computation(client, db, factory, seed) -> None:
    rng = random.Random(seed)
    admin = await factory.admin()
    h = admin.headers
    schools = [await factory.school(DIEN_BIEN) for _ in range(3)]
    for s in schools:
        await db.execute(
            "INSERT INTO enrolments (school_id, school_year, students_total, priority_students)"
            " VALUES ($1, $2, $3, $4)",
            s,
            current_school_year(),
            rng.randint(20, 60),
            10,
        )
    donor = await factory.donor()
    donation = (
        await client.post(
            "/api/v1/donations",
            headers=h,
            json={"donor_id": donor, "province_code": DIEN_BIEN, "reference": f"R{seed}"},
        )
    ).json()["id"]
    today = local_today()
    devices = [
        {"kind": rng.choice(["tablet", "laptop", "smartphone"]), "serial": f"S{seed}-{i}"}
        for i in range(24)
    ]
    devices += [
        {
            "kind": "sim",
            "iccid": f"8984{seed:02d}{i:013d}",
            "plan_expires_on": (today + timedelta(days=rng.randint(-20, 40))).isoformat(),
        }
        for i in range(10)
    ]
    created = await client.post(f"/api/v1/donations/{donation}/devices", headers=h, json=devices)
    assert created.status_code == 201, created.text
    tags = created.json()["asset_tags"]
    hosts, sims = tags[:24], tags[24:]
    students = []
    for i in range(12):
        s = rng.choice(schools)
        r = await client.post(
            "/api/v1/students",
            headers=h,
            json={
                "school_id": s,
                "student_code": f"HS{seed}-{i}",
                "full_name": f"Học sinh {i}",
                "grade": rng.randint(1, 12),
                "priority": rng.choice([[], [], ["ethnic_minority"], ["remote", "poor_household"]]),
            },
        )
        assert r.status_code == 201, r.text
        students.append(r.json())
        await client.post(
            f"/api/v1/students/{r.json()['id']}/consents",
            headers=h,
            json={"given_by": "Phụ huynh", "method": "paper", "given_at": "2025-09-01"},
        )

    async def act(tag: str, action: str, **body) -> None:
        await client.post(f"/api/v1/devices/{tag}/actions/{action}", headers=h, json=body)

    async def in_status(status: str) -> list[dict]:
        r = await client.get("/api/v1/devices", params={"status": status, "limit": 1000}, headers=h)
        return r.json()["items"]

    loans_made = 0
    for step in range(160):
        tag = rng.choice(hosts + sims)
        choice = rng.random()
        if choice < 0.2:
            await act(tag, "allocate", school_id=rng.choice(schools))
        elif choice < 0.35:
            allocated = await in_status("allocated")
            await act(rng.choice(allocated)["asset_tag"] if allocated else tag, "receive")
        elif choice < 0.45:
            await act(rng.choice(hosts), "install-sim", sim=rng.choice(sims))
        elif choice < 0.6:
            # Mostly a device and a student of the same school, so loans really happen.
            here = [d for d in await in_status("at_school") if d["kind"] != "sim"]
            device = rng.choice(here) if here else {"asset_tag": tag, "school_id": None}
            same_school = [s for s in students if s["school_id"] == device["school_id"]]
            student = rng.choice(same_school or students)
            lent = await client.post(
                "/api/v1/assignments",
                headers=h,
                json={
                    "asset_tag": device["asset_tag"],
                    "student_id": student["id"],
                    "condition_out": rng.choice(["good", "fair", "broken"]),
                },
            )
            loans_made += lent.status_code == 201
        elif choice < 0.7:
            open_loans = (
                await client.get("/api/v1/assignments", params={"open": "true"}, headers=h)
            ).json()["items"]
            if open_loans:
                loan = rng.choice(open_loans)
                await client.post(
                    f"/api/v1/assignments/{loan['id']}/return",
                    headers=h,
                    json={"condition_in": rng.choice(["good", "broken"]), "wiped": True},
                )
        elif choice < 0.75:
            await act(tag, rng.choice(["report-lost", "report-stolen"]))
        elif choice < 0.8:
            await act(tag, "found")
        elif choice < 0.85:
            await act(
                tag,
                rng.choice(["send-to-repair", "back-from-repair"]),
                condition=rng.choice(["good", "broken"]),
            )
        elif choice < 0.9:
            await act(tag, "transfer", school_id=rng.choice(schools))
        elif choice < 0.93:
            await act(tag, "retire")
        elif choice < 0.96:
            await act(tag, "remove-sim")
        else:
            student = rng.choice(students)
            await client.patch(
                f"/api/v1/students/{student['id']}",
                headers=h,
                json={
                    "status": rng.choice(["active", "left"]),
                    "priority": rng.choice([[], ["disability"]]),
                },
            )
        if step % 40 == 39:
            assert await _reported(client, h) == {
                k: v for k, v in (await _from_scratch(db)).items() if k in schools
            }
    expected = await _from_scratch(db)
    reported = await _reported(client, h)
    assert reported == {k: v for k, v in expected.items() if k in schools}
    # Roll-ups sum the schools' counts (gap too) and recompute the ratios.
    schools_rows = (
        await client.get("/api/v1/reports/coverage", headers=h, params={"level": "school"})
    ).json()["items"]
    summed = (
        "enrolled",
        "priority_enrolled",
        "devices_held",
        "devices_working",
        "devices_incoming",
        "students_with_device",
        "priority_with_device",
        "students_connected",
        "overdue_audit",
        "gap",
        "gap_after_incoming",
    )
    for level, key in (
        ("commune", "commune_code"),
        ("province", "province_code"),
        ("nation", None),
    ):
        rows = (
            await client.get("/api/v1/reports/coverage", headers=h, params={"level": level})
        ).json()["items"]
        for row in rows:
            members = [r for r in schools_rows if key is None or r[key] == row[key]]
            assert row["schools"] == len(members)
            for figure in summed:
                assert row[figure] == sum(m[figure] for m in members), (level, figure)
            audits = [m["last_audit_at"] for m in members if m["last_audit_at"]]
            assert row["last_audit_at"] == (max(audits) if audits else None), level
            expected_pct = (
                round(100 * row["students_with_device"] / row["enrolled"], 1)
                if row["enrolled"]
                else None
            )
            assert row["coverage_pct"] == expected_pct
    # The scenario must have exercised the figures, or the comparison proves little.
    assert loans_made > 0
    assert await db.fetchval("SELECT count(*) FROM device_events") > 60

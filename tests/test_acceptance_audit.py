"""The audit issue's acceptance checks, through the HTTP API and asserted in the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.factories import DIEN_BIEN, assert_problem


async def _school_with_devices(client, factory, n: int, ref: str):
    admin = await factory.admin()
    school = await factory.school(DIEN_BIEN)
    donor = await factory.donor()
    donation = (
        await client.post(
            "/api/v1/donations",
            headers=admin.headers,
            json={"donor_id": donor, "province_code": DIEN_BIEN, "reference": ref},
        )
    ).json()["id"]
    tags = (
        await client.post(
            f"/api/v1/donations/{donation}/devices",
            headers=admin.headers,
            json=[{"kind": "tablet", "serial": f"{ref}-{i}"} for i in range(n)],
        )
    ).json()["asset_tags"]
    allocated = await client.post(
        "/api/v1/allocations", headers=admin.headers, json={"school_id": school, "asset_tags": tags}
    )
    assert allocated.status_code == 201, allocated.text
    received = await client.post(
        f"/api/v1/schools/{school}/receipts", headers=admin.headers, json={"asset_tags": tags}
    )
    assert len(received.json()["received"]) == n
    return admin, school, tags


async def test_two_auditors_290_found_10_missing_5_unexpected(client, factory, db) -> None:
    _, school, tags = await _school_with_devices(client, factory, 300, "AUD")
    _, _, elsewhere = await _school_with_devices(client, factory, 3, "OTHER")
    one, two = await factory.staff(school), await factory.staff(school)
    audit = (
        await client.post("/api/v1/audits", headers=one.headers, json={"school_id": school})
    ).json()
    assert audit["expected"] == 300
    scanned = tags[:290]
    # Overlapping batches: each auditor scans 160 tags, 30 of them scanned by both.
    first = [{"code": t, "condition": "good"} for t in scanned[:160]]
    second = [{"code": t.lower().replace("-", ""), "condition": "fair"} for t in scanned[130:]]
    second += [{"code": t} for t in elsewhere] + [{"code": "NOT-A-TAG-1"}, {"code": "XYZ-2"}]

    async def post(caller, batch):
        return await client.post(
            f"/api/v1/audits/{audit['id']}/scans", headers=caller.headers, json={"scans": batch}
        )

    results = await asyncio.gather(
        *(post(one, first[i : i + 40]) for i in range(0, 160, 40)),
        *(post(two, second[i : i + 40]) for i in range(0, 165, 40)),
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert sum(r.json()["accepted"] for r in results) == 160 + 165
    closed = await client.post(f"/api/v1/audits/{audit['id']}/close", headers=one.headers)
    assert closed.status_code == 200, closed.text
    result = closed.json()["result"]
    assert len(result["found"]) == 290
    assert len(result["missing"]) == 10
    assert sorted(m["asset_tag"] for m in result["missing"]) == sorted(tags[290:])
    assert len(result["unexpected"]) == 5
    reasons = sorted(u["reason"] for u in result["unexpected"])
    # Read by the school's staff: the three devices of another school are "held elsewhere".
    assert reasons == ["held elsewhere"] * 3 + ["unknown code"] * 2
    rows = await db.fetch(
        "SELECT asset_tag, condition, last_seen_at FROM devices WHERE asset_tag = ANY($1)", scanned
    )
    assert all(r["last_seen_at"] is not None for r in rows)
    assert sum(r["condition"] == "good" for r in rows) >= 130
    assert await db.fetchval("SELECT count(*) FROM device_events WHERE action = 'audited'") == 290
    assert (
        await db.fetchval("SELECT count(*) FROM audit_scans WHERE audit_id = $1", audit["id"])
        == 325
    )


async def test_offline_batch_keeps_good_entries_and_names_the_bad(client, factory) -> None:
    _, school, tags = await _school_with_devices(client, factory, 10, "OFF")
    staff = await factory.staff(school)
    audit = (
        await client.post("/api/v1/audits", headers=staff.headers, json={"school_id": school})
    ).json()
    started = datetime.fromisoformat(audit["started_at"])
    scans = [
        {
            "code": tags[i % 10],
            "condition": "good",
            "scanned_at": (started + timedelta(seconds=i % 60)).isoformat(),
        }
        for i in range(500)
    ]
    scans[7] = {"code": tags[0], "condition": "shiny"}
    scans[99] = {"condition": "good"}
    scans[250] = {"code": tags[1], "scanned_at": "yesterday"}
    scans[499] = {"code": tags[2], "colour": "red"}
    response = await client.post(
        f"/api/v1/audits/{audit['id']}/scans", headers=staff.headers, json={"scans": scans}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 496
    assert sorted(r["index"] for r in body["rejected"]) == [7, 99, 250, 499]


async def test_other_schools_staff_and_donors_cannot_see_the_audit(client, factory) -> None:
    _, school, _ = await _school_with_devices(client, factory, 2, "PRIV")
    staff = await factory.staff(school)
    audit = (
        await client.post("/api/v1/audits", headers=staff.headers, json={"school_id": school})
    ).json()
    outsider = await factory.staff(await factory.school(DIEN_BIEN))
    assert_problem(await client.get(f"/api/v1/audits/{audit['id']}", headers=outsider.headers), 404)
    assert_problem(
        await client.post(
            f"/api/v1/audits/{audit['id']}/scans", headers=outsider.headers, json={"code": "x"}
        ),
        404,
    )
    donor = await factory.donor_user(await factory.donor())
    response = await client.get(f"/api/v1/audits/{audit['id']}", headers=donor.headers)
    assert response.status_code in (403, 404)


async def test_audit_pdf_and_csv_summaries(client, factory) -> None:
    admin, school, tags = await _school_with_devices(client, factory, 3, "PDF")
    audit = (
        await client.post("/api/v1/audits", headers=admin.headers, json={"school_id": school})
    ).json()
    await client.post(
        f"/api/v1/audits/{audit['id']}/scans",
        headers=admin.headers,
        json={"code": tags[0], "condition": "poor"},
    )
    await client.post(f"/api/v1/audits/{audit['id']}/close", headers=admin.headers)
    pdf = await client.get(f"/api/v1/audits/{audit['id']}?format=pdf", headers=admin.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    import io

    from pypdf import PdfReader

    from devicetrack.common.clock import VIETNAM

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Máy tính bảng" in text and "Kém" in text  # words, not codes
    started = datetime.fromisoformat(audit["started_at"]).astimezone(VIETNAM)
    assert f"{started:%d/%m/%Y %H:%M}" in text  # Vietnam's clock
    csv_text = (
        await client.get(f"/api/v1/audits/{audit['id']}?format=csv", headers=admin.headers)
    ).content.decode("utf-8-sig")
    assert f"found,{tags[0]},tablet,poor" in csv_text
    assert csv_text.count("missing,") == 2


async def test_scan_times_must_fall_within_the_audit_and_never_move_last_seen_back(
    client, factory, db
) -> None:
    _, school, tags = await _school_with_devices(client, factory, 2, "TIME")
    staff = await factory.staff(school)

    async def audit_of(scans: list[dict]) -> dict:
        audit = (
            await client.post("/api/v1/audits", headers=staff.headers, json={"school_id": school})
        ).json()
        sent = await client.post(
            f"/api/v1/audits/{audit['id']}/scans", headers=staff.headers, json={"scans": scans}
        )
        assert sent.status_code == 200, sent.text
        return audit | {"sent": sent.json()}

    now = datetime.now(UTC)
    first = await audit_of(
        [
            {"code": tags[0], "scanned_at": (now + timedelta(days=365)).isoformat()},
            {"code": tags[1], "scanned_at": "2020-01-01T00:00:00+07:00"},
            {"code": tags[1]},
        ]
    )
    messages = {r["index"]: r["message"] for r in first["sent"]["rejected"]}
    assert messages == {
        0: "scanned_at is in the future",
        1: "scanned_at is before the audit started",
    }
    closed = await client.post(f"/api/v1/audits/{first['id']}/close", headers=staff.headers)
    assert closed.status_code == 200, closed.text
    seen = await db.fetchval("SELECT last_seen_at FROM devices WHERE asset_tag = $1", tags[1])
    assert abs(seen - now) < timedelta(minutes=5)
    # A later audit whose offline scan of that device is older keeps the newer sighting.
    second = await audit_of([{"code": tags[1]}])
    await db.execute(
        "UPDATE audit_scans SET scanned_at = scanned_at - interval '1 day' WHERE audit_id = $1",
        second["id"],
    )
    await db.execute(
        "UPDATE audits SET started_at = started_at - interval '2 days' WHERE id = $1",
        second["id"],
    )
    assert (
        await client.post(f"/api/v1/audits/{second['id']}/close", headers=staff.headers)
    ).status_code == 200
    assert (
        await db.fetchval("SELECT last_seen_at FROM devices WHERE asset_tag = $1", tags[1]) == seen
    )


async def test_an_audit_with_nothing_scanned_cannot_be_closed(client, factory) -> None:
    _, school, tags = await _school_with_devices(client, factory, 2, "EMPTY")
    staff = await factory.staff(school)
    audit = (
        await client.post("/api/v1/audits", headers=staff.headers, json={"school_id": school})
    ).json()
    url = f"/api/v1/audits/{audit['id']}"
    body = assert_problem(await client.post(f"{url}/close", headers=staff.headers), 409)
    assert "Nothing has been scanned" in body["detail"] and body["expected"] == 2
    assert (await client.get(url, headers=staff.headers)).json()["closed_at"] is None
    await client.post(f"{url}/scans", headers=staff.headers, json={"code": tags[0]})
    closed = await client.post(f"{url}/close", headers=staff.headers)
    assert closed.status_code == 200
    assert [m["asset_tag"] for m in closed.json()["result"]["missing"]] == [tags[1]]


async def test_an_unexpected_device_of_another_school_is_not_described_to_this_one(
    client, factory
) -> None:
    admin, home, tags = await _school_with_devices(client, factory, 2, "HOME")
    _, away, away_tags = await _school_with_devices(client, factory, 1, "AWAY")
    phone = await client.post(
        "/api/v1/donations/"
        + str(
            (
                await client.post(
                    "/api/v1/donations",
                    headers=admin.headers,
                    json={
                        "donor_id": await factory.donor(),
                        "province_code": DIEN_BIEN,
                        "reference": "AWAY-PHONE",
                    },
                )
            ).json()["id"]
        )
        + "/devices",
        headers=admin.headers,
        json=[{"kind": "smartphone", "imei": "490154203237518"}],
    )
    assert phone.status_code == 201, phone.text
    staff = await factory.staff(away)
    audit = (
        await client.post("/api/v1/audits", headers=staff.headers, json={"school_id": away})
    ).json()
    url = f"/api/v1/audits/{audit['id']}"
    scans = [{"code": away_tags[0]}, {"code": tags[0]}, {"code": "490154203237518"}]
    await client.post(f"{url}/scans", headers=staff.headers, json={"scans": scans})
    closed = await client.post(f"{url}/close", headers=staff.headers)
    assert closed.status_code == 200, closed.text
    unexpected = {
        u["code"]: {k: v for k, v in u.items() if v is not None}
        for u in closed.json()["result"]["unexpected"]
    }
    # The auditor sees what was scanned and "held elsewhere", nothing about a device they may
    # not read: no school, status, kind, and no tag behind the IMEI.
    phone_tag = phone.json()["asset_tags"][0]
    assert unexpected == {
        tags[0]: {"code": tags[0], "reason": "held elsewhere"},
        "490154203237518": {"code": "490154203237518", "reason": "held elsewhere"},
    }
    assert phone_tag not in closed.text
    # The province's officer (and an admin) read the whole result.
    officer = await factory.officer(DIEN_BIEN)
    full = (await client.get(url, headers=officer.headers)).json()["result"]["unexpected"]
    described = {u["code"]: u for u in full}
    assert described[tags[0]]["held_by_school_id"] == home
    assert described[tags[0]]["reason"] == "held by another school"
    phone_item = described["490154203237518"]
    assert (phone_item["asset_tag"], phone_item["kind"], phone_item["status"]) == (
        phone_tag,
        "smartphone",
        "in_stock",
    )
    # The CSV summary tells the auditor no more than the JSON did.
    summary = await client.get(url, params={"format": "csv"}, headers=staff.headers)
    assert summary.status_code == 200
    assert described[tags[0]]["held_by_school_name"] not in summary.text
    assert "smartphone" not in summary.text


async def test_audit_due_lists_schools_holding_devices_most_first(client, factory, db) -> None:
    admin, big, _ = await _school_with_devices(client, factory, 5, "DUE-BIG")
    _, small, _ = await _school_with_devices(client, factory, 1, "DUE-SMALL")
    _, audited, audited_tags = await _school_with_devices(client, factory, 2, "DUE-OK")
    empty = await factory.school(DIEN_BIEN)  # holds nothing: nothing to audit
    audit = await client.post("/api/v1/audits", headers=admin.headers, json={"school_id": audited})
    url = f"/api/v1/audits/{audit.json()['id']}"
    await client.post(f"{url}/scans", headers=admin.headers, json={"code": audited_tags[0]})
    assert (await client.post(f"{url}/close", headers=admin.headers)).status_code == 200

    report = await client.get(
        "/api/v1/reports/audit-due", params={"province": DIEN_BIEN}, headers=admin.headers
    )
    assert report.status_code == 200, report.text
    listed = [(s["school_id"], s["devices_held"]) for s in report.json()["schools"]]
    mine = [row for row in listed if row[0] in {big, small, audited, empty}]
    assert mine == [(big, 5), (small, 1)]


async def test_a_serial_two_makes_share_counts_the_device_this_audit_expects(
    client, factory
) -> None:
    admin, school, _ = await _school_with_devices(client, factory, 1, "SER")
    donation = (
        await client.post(
            "/api/v1/donations",
            headers=admin.headers,
            json={
                "donor_id": await factory.donor(),
                "province_code": DIEN_BIEN,
                "reference": "SER-2",
            },
        )
    ).json()["id"]
    # The same serial on two makes: one at this school, the other in province stock.
    created = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        json=[
            {"kind": "laptop", "make": "Dell", "serial": "ABC123"},
            {"kind": "laptop", "make": "HP", "serial": "abc123"},
        ],
    )
    dell, hp = created.json()["asset_tags"]
    await client.post(
        "/api/v1/allocations",
        headers=admin.headers,
        json={"school_id": school, "asset_tags": [dell]},
    )
    await client.post(
        f"/api/v1/schools/{school}/receipts", headers=admin.headers, json={"asset_tags": [dell]}
    )
    staff = await factory.staff(school)
    audit = (
        await client.post("/api/v1/audits", headers=staff.headers, json={"school_id": school})
    ).json()
    url = f"/api/v1/audits/{audit['id']}"
    scanned = await client.post(f"{url}/scans", headers=staff.headers, json={"code": "abc123"})
    assert scanned.json()["unexpected"] == []
    closed = (await client.post(f"{url}/close", headers=staff.headers)).json()["result"]
    assert dell in [f["asset_tag"] for f in closed["found"]]
    assert hp not in closed_text(closed)


def closed_text(result: dict) -> str:
    import json

    return json.dumps(result)


async def test_the_audit_list_shows_each_audit_as_its_own_page_does(client, factory) -> None:
    """A page of audits is read in one pass (their progress in one query): each item equals
    the audit read alone, open or closed, for every reader who may list them."""
    admin, school, tags = await _school_with_devices(client, factory, 3, "LIST")
    _, other_school, _ = await _school_with_devices(client, factory, 1, "LIST-2")
    closed = (
        await client.post("/api/v1/audits", headers=admin.headers, json={"school_id": school})
    ).json()["id"]
    url = f"/api/v1/audits/{closed}"
    await client.post(f"{url}/scans", headers=admin.headers, json={"code": tags[0]})
    await client.post(f"{url}/scans", headers=admin.headers, json={"code": "NOT-A-TAG"})
    assert (await client.post(f"{url}/close", headers=admin.headers)).status_code == 200
    still_open = (
        await client.post("/api/v1/audits", headers=admin.headers, json={"school_id": school})
    ).json()["id"]
    await client.post(
        f"/api/v1/audits/{still_open}/scans", headers=admin.headers, json={"code": tags[1]}
    )
    elsewhere = (
        await client.post("/api/v1/audits", headers=admin.headers, json={"school_id": other_school})
    ).json()["id"]
    staff = await factory.staff(school)
    officer = await factory.officer(DIEN_BIEN)
    for caller, expected in (
        (admin, {closed, still_open, elsewhere}),
        (officer, {closed, still_open, elsewhere}),
        (staff, {closed, still_open}),
    ):
        listed = await client.get("/api/v1/audits", params={"limit": 1000}, headers=caller.headers)
        assert listed.status_code == 200, listed.text
        items = {i["id"]: i for i in listed.json()["items"] if i["id"] in expected | {elsewhere}}
        assert set(items) == expected
        for audit_id, item in items.items():
            alone = await client.get(f"/api/v1/audits/{audit_id}", headers=caller.headers)
            assert item == alone.json()
        assert items[still_open]["found"] == 1 and items[still_open]["closed_at"] is None
        assert items[closed]["unexpected"] == 1 and items[closed]["expected"] == 3
    donor = await factory.donor_user(await factory.donor())
    assert (await client.get("/api/v1/audits", headers=donor.headers)).status_code == 403

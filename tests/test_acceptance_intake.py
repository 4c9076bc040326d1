"""The intake issue's acceptance checks, through the HTTP API and asserted in the database."""

from __future__ import annotations

import asyncio
import csv
import io

from devicetrack.devices.identity import luhn_ok
from devicetrack.devices.tags import parse_tag
from tests.factories import DIEN_BIEN, assert_problem


def _imei(n: int) -> str:
    body = f"35{n:012d}"
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["kind", "make", "serial", "imei", "iccid"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def _donation(client, caller, donor: int, ref: str = "ACC-1") -> int:
    r = await client.post(
        "/api/v1/donations",
        headers=caller.headers,
        json={"donor_id": donor, "province_code": DIEN_BIEN, "reference": ref},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_ten_thousand_rows_with_five_bad_ones(client, factory, db) -> None:
    admin = await factory.admin()
    donation = await _donation(client, admin, await factory.donor())
    # One phone already registered, whose IMEI the file repeats.
    taken = _imei(999_999)
    first = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        json=[{"kind": "smartphone", "imei": taken}],
    )
    assert first.status_code == 201
    rows = []
    for i in range(10_000):
        if i % 3 == 0:
            rows.append(
                {
                    "kind": "smartphone",
                    "make": "Xiaomi",
                    "serial": "",
                    "imei": _imei(i),
                    "iccid": "",
                }
            )
        else:
            rows.append(
                {
                    "kind": "tablet",
                    "make": "Samsung",
                    "serial": f"S{i:06d}",
                    "imei": "",
                    "iccid": "",
                }
            )
    good = [dict(r) for r in rows]
    wrong_check = _imei(3)[:-1] + str((int(_imei(3)[-1]) + 1) % 10)
    bad = {  # spreadsheet row (header = 1) -> the broken row
        2 + 3: {**rows[3], "imei": wrong_check},
        2 + 100: {
            "kind": "sim",
            "make": "",
            "serial": "",
            "imei": "",
            "iccid": "8812345678901234567",
        },
        2 + 202: {**rows[202], "serial": rows[200]["serial"]},
        2 + 300: {**rows[300], "imei": taken},
        2 + 401: {**rows[401], "kind": "toaster"},
    }
    for row_number, row in bad.items():
        rows[row_number - 2] = row
    response = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        files={"file": ("devices.csv", _csv(rows), "text/csv")},
    )
    body = assert_problem(response, 422)
    assert sorted({e["row"] for e in body["errors"]}) == sorted(bad)
    assert {(e["row"], e["field"]) for e in body["errors"]} == {
        (5, "imei"),
        (102, "iccid"),
        (204, "serial"),
        (302, "imei"),
        (403, "kind"),
    }
    assert await db.fetchval("SELECT count(*) FROM devices WHERE donation_id = $1", donation) == 1
    assert await db.fetchval("SELECT count(*) FROM device_events") == 1

    # The corrected file: the five rows made valid and unique.
    good[300]["imei"] = _imei(500_000)
    response = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        files={"file": ("devices.csv", _csv(good), "text/csv")},
    )
    assert response.status_code == 201, response.text[:500]
    tags = response.json()["asset_tags"]
    assert response.json()["created"] == 10_000 == len(set(tags))
    assert all(parse_tag(t) and parse_tag(t).check_ok for t in tags)
    assert (
        await db.fetchval("SELECT count(*) FROM devices WHERE donation_id = $1", donation) == 10_001
    )
    assert (
        await db.fetchval("SELECT count(*) FROM device_events WHERE action = 'registered'")
        == 10_001
    )


async def test_twenty_concurrent_registrations_get_consecutive_tags(client, factory, db) -> None:
    admin = await factory.admin()
    donation = await _donation(client, admin, await factory.donor())

    async def register(i: int):
        return await client.post(
            f"/api/v1/donations/{donation}/devices",
            headers=admin.headers,
            json=[{"kind": "laptop", "serial": f"C-{i}"}],
        )

    responses = await asyncio.gather(*(register(i) for i in range(20)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    sequences = sorted(parse_tag(r.json()["asset_tags"][0]).sequence for r in responses)
    assert sequences == list(range(1, 21))
    assert (
        await db.fetchval(
            "SELECT last_value FROM tag_sequences WHERE province_code = $1", DIEN_BIEN
        )
        == 20
    )


async def test_concurrent_intakes_of_one_imei_register_it_once(client, factory, db) -> None:
    admin = await factory.admin()
    donation = await _donation(client, admin, await factory.donor())
    imei = _imei(42)

    async def register():
        return await client.post(
            f"/api/v1/donations/{donation}/devices",
            headers=admin.headers,
            json=[{"kind": "smartphone", "imei": imei}],
        )

    responses = await asyncio.gather(*(register() for _ in range(5)))
    assert sorted(r.status_code for r in responses)[0] == 201
    assert sum(r.status_code == 201 for r in responses) == 1
    assert all(r.status_code in (201, 409, 422) for r in responses)
    assert await db.fetchval("SELECT count(*) FROM devices WHERE imei = $1", imei) == 1


async def test_a_donor_cannot_touch_another_donors_donation(client, factory) -> None:
    admin = await factory.admin()
    donor_a, donor_b = await factory.donor(), await factory.donor()
    donation_b = await _donation(client, admin, donor_b, "B-1")
    tags = (
        await client.post(
            f"/api/v1/donations/{donation_b}/devices",
            headers=admin.headers,
            json=[{"kind": "tablet", "serial": "B-T1"}],
        )
    ).json()["asset_tags"]
    user_a = await factory.donor_user(donor_a)
    assert_problem(
        await client.post(
            f"/api/v1/donations/{donation_b}/devices",
            headers=user_a.headers,
            json=[{"kind": "tablet", "serial": "X"}],
        ),
        404,
    )
    assert_problem(
        await client.get(f"/api/v1/donations/{donation_b}/devices", headers=user_a.headers), 404
    )
    assert_problem(await client.get(f"/api/v1/devices/{tags[0]}", headers=user_a.headers), 404)
    listed = (await client.get("/api/v1/devices", headers=user_a.headers)).json()["items"]
    assert listed == []
    assert_problem(
        await client.post(
            "/api/v1/donations",
            headers=user_a.headers,
            json={"donor_id": donor_b, "province_code": DIEN_BIEN, "reference": "nope"},
        ),
        403,
    )


async def test_cells_are_stored_trimmed_and_composed_from_json_csv_and_xlsx(
    client, factory, db
) -> None:
    """Whatever the source, a cell is stored trimmed and in NFC (composed) form, so the same
    Vietnamese word typed in different programs is one value; a quota given as a JSON number
    is kept."""
    import unicodedata

    import openpyxl

    admin = await factory.admin()
    donation = await _donation(client, admin, await factory.donor())
    decomposed = unicodedata.normalize("NFD", "  máy tặng  ")
    url = f"/api/v1/donations/{donation}/devices"
    as_json = await client.post(
        url,
        headers=admin.headers,
        json=[{"kind": " Laptop ", "serial": " J-1 ", "note": decomposed}],
    )
    as_csv = await client.post(
        url,
        headers=admin.headers,
        files={"file": ("d.csv", f"kind,serial,note\nlaptop, C-1 ,{decomposed}\n".encode())},
    )
    book = openpyxl.Workbook()
    book.active.append(["kind", "serial", "note"])
    book.active.append(["laptop", " X-1", decomposed])
    body = io.BytesIO()
    book.save(body)
    as_xlsx = await client.post(
        url, headers=admin.headers, files={"file": ("d.xlsx", body.getvalue())}
    )
    for response in (as_json, as_csv, as_xlsx):
        assert response.status_code == 201, response.text
    stored = await db.fetch(
        "SELECT kind, serial, note FROM devices WHERE donation_id = $1 ORDER BY id", donation
    )
    assert [tuple(r) for r in stored] == [
        ("laptop", "J-1", "máy tặng"),
        ("laptop", "C-1", "máy tặng"),
        ("laptop", "X-1", "máy tặng"),
    ]
    assert all(unicodedata.is_normalized("NFC", r["note"]) for r in stored)


async def test_a_collision_names_the_other_device_only_to_who_may_read_it(client, factory) -> None:
    admin = await factory.admin()
    donor_a, donor_b = await factory.donor(), await factory.donor()
    donation_a = await _donation(client, admin, donor_a, "COL-A")
    first = await client.post(
        f"/api/v1/donations/{donation_a}/devices",
        headers=admin.headers,
        json=[{"kind": "smartphone", "make": "Xiaomi", "serial": "COL-S1", "imei": _imei(4242)}],
    )
    assert first.status_code == 201, first.text
    tag_a = first.json()["asset_tags"][0]
    user_b = await factory.donor_user(donor_b)
    donation_b = await _donation(client, user_b, donor_b, "COL-B")
    again = [{"kind": "smartphone", "make": "xiaomi", "serial": "COL-S1", "imei": _imei(4242)}]

    async def messages(caller, donation: int) -> set[str]:
        response = await client.post(
            f"/api/v1/donations/{donation}/devices", headers=caller.headers, json=again
        )
        body = assert_problem(response, 422)
        return {e["message"] for e in body["errors"]}

    # Another donor learns the identity is taken, not which device holds it.
    hidden = await messages(user_b, donation_b)
    assert hidden == {"IMEI already registered", "serial already registered for this make"}
    assert all(tag_a not in m for m in hidden)
    # The province's staff may read the device, so they are told which one.
    shown = await messages(admin, donation_b)
    assert shown == {
        f"IMEI already registered as {tag_a}",
        f"serial already registered for this make as {tag_a}",
    }


async def test_a_donor_corrects_its_devices_only_while_in_stock(client, factory) -> None:
    admin = await factory.admin()
    donor = await factory.donor()
    user = await factory.donor_user(donor)
    donation = await _donation(client, user, donor, "FIX-1")
    created = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=user.headers,
        json=[{"kind": "tablet", "serial": "FIX-T1"}, {"kind": "tablet", "serial": "FIX-T2"}],
    )
    stock, sent = created.json()["asset_tags"]
    allocated = await client.post(
        "/api/v1/allocations",
        headers=admin.headers,
        json={"school_id": await factory.school(DIEN_BIEN), "asset_tags": [sent]},
    )
    assert allocated.status_code == 201, allocated.text

    ok = await client.patch(
        f"/api/v1/devices/{stock}", headers=user.headers, json={"model": "Galaxy Tab A9"}
    )
    assert ok.status_code == 200, ok.text
    assert_problem(
        await client.patch(f"/api/v1/devices/{sent}", headers=user.headers, json={"note": "x"}),
        403,
    )
    update = f"asset_tag,condition\n{stock},good\n{sent},broken\n".encode()
    refused = await client.post(
        f"/api/v1/donations/{donation}/devices?mode=update",
        headers=user.headers,
        files={"file": ("u.csv", update, "text/csv")},
    )
    body = assert_problem(refused, 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "asset_tag")]
    got = await client.get(f"/api/v1/devices/{stock}", headers=user.headers)
    assert got.json()["condition"] == "new"  # all or nothing: the good row waited too
    # The province may.
    fixed = await client.post(
        f"/api/v1/donations/{donation}/devices?mode=update",
        headers=admin.headers,
        files={"file": ("u.csv", update, "text/csv")},
    )
    assert fixed.status_code == 201, fixed.text


async def test_excel_numbers_too_long_to_keep_are_refused_not_changed(client, factory) -> None:
    """An ICCID typed into Excel as a number has lost its last digits before it reaches us:
    refused with the row and column; a phone number Excel stripped of its 0 is understood."""
    import openpyxl

    admin = await factory.admin()
    donation = await _donation(client, admin, await factory.donor(), "XL-NUM")
    book = openpyxl.Workbook()
    book.active.append(["kind", "iccid", "msisdn"])
    book.active.append(["sim", "8984048000077777772", 912555666])  # text ICCID: fine
    book.active.append(["sim", 8984048000077777777, "0912555667"])  # a number: 16+ digits
    body = io.BytesIO()
    book.save(body)
    url = f"/api/v1/donations/{donation}/devices"
    refused = await client.post(
        url, headers=admin.headers, files={"file": ("s.xlsx", body.getvalue())}
    )
    problem = assert_problem(refused, 422)
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [(3, "iccid")]
    assert "format the column as Text" in problem["errors"][0]["message"]

    book.active.delete_rows(3)
    body = io.BytesIO()
    book.save(body)
    created = await client.post(
        url, headers=admin.headers, files={"file": ("s.xlsx", body.getvalue())}
    )
    assert created.status_code == 201, created.text
    tag = created.json()["asset_tags"][0]
    sim = (await client.get(f"/api/v1/devices/{tag}", headers=admin.headers)).json()
    assert (sim["iccid"], sim["msisdn"]) == ("8984048000077777772", "+84912555666")


async def test_kinds_and_conditions_in_vietnamese_words(client, factory, db) -> None:
    admin = await factory.admin()
    donation = await _donation(client, admin, await factory.donor(), "VI-WORDS")
    csv_body = (
        "loại,hãng,số sê-ri,tình trạng\n"
        "Máy tính bảng,Samsung,VI-1,mới\n"
        "may tinh xach tay,Dell,VI-2,Tốt\n"
        "Điện thoại,Xiaomi,VI-3,kém\n"
    ).encode()
    created = await client.post(
        f"/api/v1/donations/{donation}/devices",
        headers=admin.headers,
        files={"file": ("vi.csv", csv_body, "text/csv")},
    )
    assert created.status_code == 201, created.text
    rows = await db.fetch(
        "SELECT kind, condition FROM devices WHERE donation_id = $1 ORDER BY id", donation
    )
    assert [tuple(r) for r in rows] == [
        ("tablet", "new"),
        ("laptop", "good"),
        ("smartphone", "poor"),
    ]


async def test_a_quota_that_is_not_a_number_is_refused_not_a_500(client, factory) -> None:
    admin = await factory.admin()
    donation = await _donation(client, admin, await factory.donor(), "NAN")
    for quota in ("NaN", "Infinity", "-inf"):
        response = await client.post(
            f"/api/v1/donations/{donation}/devices",
            headers=admin.headers,
            json=[{"kind": "sim", "iccid": "8984040000000000092", "plan_quota_gb": quota}],
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["field"] == "plan_quota_gb", quota

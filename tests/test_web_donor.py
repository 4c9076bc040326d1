"""The donor's pages: logging a donation, registering devices one by one or by upload,
listing a large donation, and printing its labels."""

from __future__ import annotations

import re
from datetime import timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, form


async def test_donor_upload_shows_every_bad_row_and_adds_nothing(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    bad = (
        "kind,make,model,imei\n"
        "smartphone,Samsung,A05,490154203237518\n"
        "smartphone,Samsung,A05,12345\n"
        "rocket,,,\n"
    )
    response = await web.post(
        f"/donations/{scene.donation_id}/upload",
        files={"file": ("phones.csv", bad.encode(), "text/csv")},
        data=form(scene.donor),
        headers=browser(scene.donor),
    )
    assert response.status_code == 422
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", response.text)
    assert ("3", "IMEI") in rows and ("4", "Kind") in rows  # columns named as on the form
    assert await db.fetchval("SELECT count(*) FROM devices") == 0
    good = "kind,make,model,imei\nsmartphone,Samsung,A05,490154203237518\n"
    ok = await web.post(
        f"/donations/{scene.donation_id}/upload",
        files={"file": ("phones.csv", good.encode(), "text/csv")},
        data=form(scene.donor),
        headers=browser(scene.donor),
    )
    assert ok.status_code == 303 and "n=1" in ok.headers["location"]
    assert await db.fetchval("SELECT count(*) FROM devices") == 1
    shown = await web.get(ok.headers["location"], headers=browser(scene.donor))
    assert "1 device registered." in shown.text  # its count's own form (was "1 devices")


async def test_donor_prints_a_label_sheet(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await scene.tablets(3)
    pdf = await web.post(
        f"/donations/{scene.donation_id}/labels",
        data=form(scene.donor, template="a4-3x8", skip="2", copies="2"),
        headers=browser(scene.donor),
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    refused = await web.post(
        f"/donations/{scene.donation_id}/labels",
        data=form(scene.donor, template="a4-3x8", skip="2", copies="0"),
        headers=browser(scene.donor),
    )
    assert refused.status_code == 422 and "Copies of each label" in refused.text


async def test_a_large_donation_is_listed_page_by_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(105)
    first = await web.get(f"/donations/{scene.donation_id}", headers=browser(scene.donor))
    assert first.status_code == 200
    listed = re.findall(r'<td><a href="/devices/([^"]+)">', first.text)
    assert listed == tags[:100]
    more = re.search(r'<a href="(\?after=\d+)">More', first.text)
    assert more, "a link to the rest"
    rest = await web.get(
        f"/donations/{scene.donation_id}{more.group(1)}", headers=browser(scene.donor)
    )
    assert re.findall(r'<td><a href="/devices/([^"]+)">', rest.text) == tags[100:]
    assert "More" not in rest.text.split("<h2>")[-1]


async def test_a_sim_is_registered_with_its_plan_and_renewed_from_its_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    expires = (local_today() + timedelta(days=20)).isoformat()
    registered = await web.post(
        f"/donations/{scene.donation_id}/devices",
        data=form(
            scene.donor,
            kind="sim",
            iccid="8984040000000000068",
            msisdn="0912 333 444",
            carrier="vinaphone",
            plan_name="Data 4G",
            plan_quota_gb="4",
            plan_expires_on=expires,
            paid_by="VNPT",
            note="gói miễn phí",
        ),
        headers=browser(scene.donor),
    )
    assert registered.status_code == 303, registered.text
    sim = await db.fetchrow("SELECT * FROM devices WHERE iccid = '8984040000000000068'")
    assert (sim["msisdn"], sim["carrier"], sim["plan_name"], str(sim["plan_expires_on"])) == (
        "+84912333444",
        "vinaphone",
        "Data 4G",
        expires,
    )
    assert (sim["paid_by"], sim["note"], float(sim["plan_quota_gb"])) == (
        "VNPT",
        "gói miễn phí",
        4.0,
    )

    officer = browser(scene.officer)
    later = (local_today() + timedelta(days=110)).isoformat()
    renewed = await web.post(
        f"/devices/{sim['asset_tag']}/plan",
        data=form(scene.officer, plan_expires_on=later, plan_name="Data 4G gia hạn"),
        headers=officer,
    )
    assert renewed.status_code == 303, renewed.text
    row = await scene.device(sim["asset_tag"])
    assert (str(row["plan_expires_on"]), row["plan_name"]) == (later, "Data 4G gia hạn")
    for stranger in (scene.staff_b, scene.officer_other):
        refused = await web.post(
            f"/devices/{sim['asset_tag']}/plan",
            data=form(stranger, plan_expires_on=later),
            headers=browser(stranger),
        )
        assert refused.status_code == 404
    junk = await web.post(
        f"/devices/{sim['asset_tag']}/plan",
        data=form(scene.officer, plan_expires_on="next year"),
        headers=officer,
    )
    assert junk.status_code == 422 and 'action="/devices/' in junk.text


async def test_a_donor_logs_a_donation_on_its_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    donor = await factory.donor()
    user = await factory.donor_user(donor)
    headers = browser(user)
    home = await web.get("/donor", headers=headers)
    assert 'action="/donor/donations"' in home.text
    refused = await web.post(
        "/donor/donations",
        data=form(user, province_code="11", reference="", kind_0="laptop", quantity_0="abc"),
        headers=headers,
    )
    assert refused.status_code == 422
    assert 'name="quantity_0" inputmode="numeric" value="abc"' in refused.text
    half = await web.post(
        "/donor/donations",
        data=form(user, province_code="11", reference="QUY-HALF", kind_0="laptop"),
        headers=headers,
    )
    assert half.status_code == 422  # a kind without a quantity is not silently dropped
    bad_place = await web.post(
        "/donor/donations",
        data=form(user, province_code="1", reference="QUY-X", kind_0="laptop", quantity_0="2"),
        headers=headers,
    )
    assert bad_place.status_code == 422 and "<td>Province code</td>" in bad_place.text
    assert await db.fetchval("SELECT count(*) FROM donations WHERE reference = 'QUY-HALF'") == 0
    saved = await web.post(
        "/donor/donations",
        data=form(
            user,
            province_code="11",
            reference="QUY-2026-07",
            received_on="2026-11-20",
            kind_0="laptop",
            quantity_0="500",
            model_0="Dell Latitude",
            kind_1="tablet",
            quantity_1="30",
        ),
        headers=headers,
    )
    assert saved.status_code == 303, saved.text
    donation = await db.fetchrow("SELECT * FROM donations WHERE reference = 'QUY-2026-07'")
    assert (donation["donor_id"], donation["province_code"]) == (donor, "11")
    lines = await db.fetch(
        "SELECT kind, quantity FROM donation_lines WHERE donation_id = $1 ORDER BY kind",
        donation["id"],
    )
    assert [tuple(r) for r in lines] == [("laptop", 500), ("tablet", 30)]
    assert saved.headers["location"].startswith(f"/donations/{donation['id']}")
    # Only a donor logs for itself here: an officer is refused.
    officer = await factory.officer()
    assert (
        await web.post("/donor/donations", data=form(officer), headers=browser(officer))
    ).status_code == 403


async def test_people_see_label_stock_by_name_and_phone_numbers_as_they_write_them(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """#14 item 9: label templates were shown as codes (`a4-3x8`), phone numbers as +84…
    The codes stay the form's values and E.164 stays in the API."""
    scene = await make_scene(client, db, factory)
    (sim,) = await scene.intake(
        {"kind": "sim", "iccid": "8984040000000000068", "msisdn": "0912345678"}
    )
    page = await web.get(f"/donations/{scene.donation_id}", headers=browser(scene.donor, "vi"))
    assert '<option value="avery-l7651">Avery L7651 — 65 nhãn/tờ A4 (38 × 21 mm)</option>' in (
        page.text
    )
    assert '<option value="a4-3x8">A4 — 24 nhãn/tờ (70 × 37 mm)</option>' in page.text
    device = await web.get(f"/devices/{sim}", headers=browser(scene.officer))
    assert "0912 345 678" in device.text and "+84912345678" not in device.text
    api = await client.get(f"/api/v1/devices/{sim}", headers=scene.officer.headers)
    assert api.json()["msisdn"] == "+84912345678"

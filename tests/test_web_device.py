"""Everyone's pages: the scan box, and a device's page with the actions its reader may
take (transfer, reset, SIM pairing), each refusal back on its form."""

from __future__ import annotations

import re

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser, form


async def test_donors_never_see_who_holds_a_device(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(1)
    await scene.at_school(tags)
    student = await scene.consenting_student(full_name="Vàng Thị Dung")
    await scene.lend(tags[0], student)
    donor_view = await web.get(f"/devices/{tags[0]}", headers=browser(scene.donor))
    assert donor_view.status_code == 200
    assert "Vàng Thị Dung" not in donor_view.text and f"/students/{student}" not in donor_view.text
    officer_view = await web.get(f"/devices/{tags[0]}", headers=browser(scene.officer))
    assert "Vàng Thị Dung" not in officer_view.text
    staff_view = await web.get(f"/devices/{tags[0]}", headers=browser(scene.staff_a))
    assert "Vàng Thị Dung" in staff_view.text
    student_page = await web.get(f"/students/{student}", headers=browser(scene.donor))
    assert student_page.status_code in (403, 404)
    assert "Vàng Thị Dung" not in student_page.text


async def test_scan_box_suggests_the_right_tag(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tag = (await scene.tablets(1))[0]
    wrong = tag[:-1] + ("0" if tag[-1] != "0" else "1")
    response = await web.get(f"/scan?code={wrong.lower()}", headers=browser(scene.officer))
    assert response.status_code == 422
    assert f'href="/scan?code={tag}"' in response.text and "Did you mean" in response.text
    found = await web.get(
        f"/scan?code={tag.replace('-', '').lower()}", headers=browser(scene.officer)
    )
    assert found.status_code == 303 and found.headers["location"] == f"/devices/{tag}"
    missing = await web.get("/scan?code=no-such-thing", headers=browser(scene.officer))
    assert missing.status_code == 404


async def test_transfer_picks_a_school_by_name_and_a_refusal_keeps_the_form(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    names = dict(
        await db.fetch(
            "SELECT id, name FROM schools WHERE id = ANY($1::int[])",
            [scene.school_a, scene.school_b],
        )
    )
    page = await web.get(f"/devices/{tag}", headers=browser(scene.officer))
    assert page.status_code == 200
    picker = re.search(
        r'<select id="school-transfer" name="school_id".*?</select>', page.text, re.S
    )
    assert picker, "the transfer form picks a school from a list"
    assert f'value="{scene.school_b}"' in picker.group(0) and names[scene.school_b] in picker.group(
        0
    )
    assert f'value="{scene.school_a}"' not in picker.group(0)  # not the school it is at

    # Refused (the school it is already at): the device page again, the transfer form open
    # with the reason and the note typed; nothing changed.
    refused = await web.post(
        f"/devices/{tag}/actions/transfer",
        data=form(scene.officer, school_id=str(scene.school_a), note="chuyển gấp"),
        headers=browser(scene.officer),
    )
    assert refused.status_code == 409, refused.text
    assert "already at that school" in refused.text
    assert re.search(
        r'<details class="action" open>\s*<summary>[^<]*</summary>\s*<div class="problem"',
        refused.text,
    )
    assert 'value="chuyển gấp"' in refused.text
    assert (await scene.device(tag))["school_id"] == scene.school_a

    moved = await web.post(
        f"/devices/{tag}/actions/transfer",
        data=form(scene.officer, school_id=str(scene.school_b)),
        headers=browser(scene.officer),
    )
    assert moved.status_code == 303, moved.text
    row = await scene.device(tag)
    assert (row["school_id"], row["status"]) == (scene.school_b, "allocated")

    # A value that is not a number comes back to the form too, never a bare error page.
    junk = await web.post(
        f"/devices/{tag}/actions/report-lost",
        data=form(scene.officer, note="x" * 2001),
        headers=browser(scene.officer),
    )
    assert junk.status_code == 422 and 'action="/devices/' in junk.text


async def test_reset_and_sim_pairing_from_the_device_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tablet,) = tags = await scene.tablets(1)
    (sim,) = await scene.intake({"kind": "sim", "iccid": "8984040000000000027"})
    await scene.at_school(tags)
    student = await scene.consenting_student()
    loan = await scene.lend(tablet, student)
    back = await client.post(
        f"{API}/assignments/{loan['id']}/return",
        headers=scene.staff_a.headers,
        json={"condition_in": "good", "wiped": False},
    )
    assert back.status_code == 200, back.text
    staff = browser(scene.staff_a)
    page = (await web.get(f"/devices/{tablet}", headers=staff)).text
    assert f'href="/devices/{tablet}/lend"' not in page  # not before the reset
    assert f'action="/devices/{tablet}/actions/wipe"' in page
    wiped = await web.post(
        f"/devices/{tablet}/actions/wipe", data=form(scene.staff_a), headers=staff
    )
    assert wiped.status_code == 303, wiped.text
    page = (await web.get(f"/devices/{tablet}", headers=staff)).text
    assert f'href="/devices/{tablet}/lend"' in page

    # Install the SIM by its ICCID, from the tablet's page.
    officer = browser(scene.officer)
    installed = await web.post(
        f"/devices/{tablet}/actions/install-sim",
        data=form(scene.officer, sim="8984040000000000027"),
        headers=officer,
    )
    assert installed.status_code == 303, installed.text
    assert (await scene.device(sim))["installed_in_id"] == (await scene.device(tablet))["id"]
    sim_page = (await web.get(f"/devices/{sim}", headers=officer)).text
    assert "inside another device" in sim_page and f'href="/devices/{tablet}"' in sim_page
    assert "/actions/report-lost" not in sim_page  # it follows its tablet
    tablet_page = (await web.get(f"/devices/{tablet}", headers=officer)).text
    assert f'action="/devices/{tablet}/actions/remove-sim"' in tablet_page
    # A wrong SIM code comes back to the form with the reason.
    refused = await web.post(
        f"/devices/{tablet}/actions/remove-sim", data=form(scene.officer), headers=officer
    )
    assert refused.status_code == 303
    again = await web.post(
        f"/devices/{tablet}/actions/install-sim",
        data=form(scene.officer, sim="DT99-999999-0"),
        headers=officer,
    )
    assert again.status_code in (404, 409, 422), again.text
    assert 'value="DT99-999999-0"' in again.text

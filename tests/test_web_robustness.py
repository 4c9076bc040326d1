"""Junk in every form and query of the pages: the answer is a page saying what is wrong,
never a 500, and nothing is half-written."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, form

JUNK = ["", "abc", "-1", "99999999999999999999", "1e9", "x" * 5000, "nul\x00byte", "<script>"]


async def test_no_form_or_query_answers_500(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    lent, free = await scene.tablets(2)
    (sim,) = await scene.intake({"kind": "sim", "iccid": "8984040000000000076"})
    await scene.at_school([lent, free])
    student = await scene.consenting_student()
    await scene.lend(lent, student)
    a, d = scene.school_a, scene.donation_id
    devices_before = await db.fetchval("SELECT count(*) FROM devices")
    posts = {
        f"/devices/{free}/lend": ("student_id", "condition", "due_back_on", "note"),
        f"/devices/{lent}/return": ("condition", "wiped", "note"),
        f"/devices/{free}/actions/send-to-repair": ("note", "condition", "school_id"),
        f"/devices/{free}/actions/no-such-action": ("note",),
        f"/devices/{free}/actions/install-sim": ("sim",),
        f"/devices/{sim}/plan": ("plan_expires_on", "plan_name"),
        f"/schools/{a}/students": ("student_code", "full_name", "grade", "class_name", "priority"),
        f"/students/{student}/consents": ("given_by", "method", "given_at"),
        f"/students/{student}/edit": (
            "grade",
            "class_name",
            "guardian_name",
            "guardian_phone",
            "status",
        ),
        f"/schools/{a}/receive": ("tags",),
        f"/schools/{a}/allocate": ("kind", "quantity", "tags", "note"),
        f"/schools/{a}/audits": ("location",),
        f"/donations/{d}/devices": (
            "kind",
            "imei",
            "iccid",
            "msisdn",
            "serial",
            "condition",
            "plan_quota_gb",
            "plan_expires_on",
            "asset_tag",
        ),
        f"/donations/{d}/labels": ("template", "skip", "copies"),
        "/donor/donations": (
            "province_code",
            "reference",
            "received_on",
            "kind_0",
            "quantity_0",
            "model_0",
        ),
    }
    for url, fields in posts.items():
        caller = scene.donor if url.startswith(("/donations", "/donor")) else scene.staff_a
        if "allocate" in url or "/plan" in url or "install-sim" in url:
            caller = scene.officer
        for junk in JUNK:
            response = await web.post(
                url, data=form(caller, **dict.fromkeys(fields, junk)), headers=browser(caller)
            )
            assert response.status_code < 500, (url, junk[:20], response.text[:300])
            assert "<script>" not in response.text.replace("&lt;script&gt;", "")
    gets = [
        f"/schools/{a}?status={{j}}&kind={{j}}&after={{j}}&q={{j}}",
        f"/schools/{a}/students?q={{j}}&after={{j}}",
        "/province?sort={j}",
        "/province/sims?days={j}",
        "/province/sims-list.xlsx?days={j}",
        "/province/communes/{j}",
        "/province/coverage.xlsx?level={j}",
        "/scan?code={j}",
        "/devices/{j}",
        "/donor?donor={j}",
    ]
    for template in gets:
        for junk in JUNK:
            if "\x00" in junk:
                continue  # not a valid URL character at all
            url = template.format(j=junk[:300])
            response = await web.get(url, headers=browser(scene.officer))
            assert response.status_code < 500, (url[:80], response.text[:300])
    # No junk registered a device or took the lent one back.
    assert await db.fetchval("SELECT count(*) FROM devices") == devices_before
    assert (await scene.device(lent))["status"] == "assigned"

"""Every page as every role: what each may open, and that another school's, province's or
donor's objects answer 404 exactly like missing ones. Also: every form on every page a
user can open carries the CSRF token."""

from __future__ import annotations

import re

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.test_evidence import signature_png
from tests.web_helpers import browser, form

OK, GONE, REFUSED = 200, 404, 403
ROLES = (
    "admin",
    "officer",
    "officer_other",
    "staff_a",
    "staff_b",
    "staff_c",
    "donor",
    "donor_other",
)


async def arrange(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> tuple[Scene, dict]:
    scene = await make_scene(client, db, factory)
    lent, free = await scene.tablets(2)
    await scene.at_school([lent, free])
    student = await scene.consenting_student()
    loan = await scene.lend(lent, student)
    signed = await client.post(
        f"{API}/assignments/{loan['id']}/evidence",
        headers=scene.staff_a.headers,
        files={"file": ("s.png", signature_png(), "image/png")},
    )
    assert signed.status_code == 201, signed.text
    audit = await client.post(
        f"{API}/audits", headers=scene.staff_a.headers, json={"school_id": scene.school_a}
    )
    assert audit.status_code == 201, audit.text
    commune = await db.fetchval("SELECT commune_code FROM schools WHERE id = $1", scene.school_a)
    other_donor = await factory.donor()
    scene.donor_other = await factory.donor_user(other_donor)  # type: ignore[attr-defined]
    ids = {
        "a": scene.school_a,
        "student": student,
        "audit": audit.json()["id"],
        "lent": lent,
        "free": free,
        "donation": scene.donation_id,
        "commune": commune,
        "staff_user": scene.staff_a.user_id,
        "school_c": scene.school_c,
        "donor_id": scene.donor_id,
        "evidence": signed.json()["id"],
    }
    return scene, ids


# page → expected status per role (admin, officer, officer_other, staff_a, staff_b, staff_c,
# donor, donor_other). 404 wherever the object is outside the caller's scope (donors see no
# school at all, so a school's pages are out of their scope); 403 where the role itself may
# not use the page (a donor and students, staff and the province dashboard).
MATRIX: dict[str, tuple[int, ...]] = {
    "/schools/{a}": (OK, OK, GONE, OK, GONE, GONE, GONE, GONE),
    "/schools/{a}/students": (OK, OK, GONE, OK, GONE, GONE, GONE, GONE),
    "/schools/{a}/receive": (OK, OK, GONE, OK, GONE, GONE, GONE, GONE),
    "/schools/{a}/allocate": (OK, OK, GONE, REFUSED, GONE, GONE, GONE, GONE),
    "/schools/{a}/audits": (OK, OK, GONE, OK, GONE, GONE, GONE, GONE),
    "/schools/{a}/devices.xlsx": (OK, OK, GONE, OK, GONE, GONE, GONE, GONE),
    "/schools/{a}/loans": (OK, OK, GONE, OK, GONE, GONE, GONE, GONE),
    "/schools/{a}/loans?overdue=1": (OK, OK, GONE, OK, GONE, GONE, GONE, GONE),
    # The collection and a loan's signature name students: the school's staff and admins.
    "/schools/{a}/collect": (OK, GONE, GONE, OK, GONE, GONE, GONE, GONE),
    "/schools/{a}/collect/outstanding.xlsx": (OK, GONE, GONE, OK, GONE, GONE, GONE, GONE),
    "/evidence/{evidence}": (OK, GONE, GONE, OK, GONE, GONE, GONE, GONE),
    "/students/{student}": (OK, OK, GONE, OK, GONE, GONE, REFUSED, REFUSED),
    "/students/{student}/export": (OK, REFUSED, GONE, OK, GONE, GONE, REFUSED, REFUSED),
    "/audits/{audit}": (OK, OK, GONE, OK, GONE, GONE, GONE, GONE),
    "/devices/{lent}": (OK, OK, GONE, OK, GONE, GONE, OK, GONE),
    "/devices/{lent}/return": (OK, OK, GONE, OK, GONE, GONE, REFUSED, GONE),
    "/devices/{free}/lend": (OK, OK, GONE, OK, GONE, GONE, REFUSED, GONE),
    "/donor": (OK, OK, OK, REFUSED, REFUSED, REFUSED, OK, OK),
    "/donations/{donation}": (OK, OK, GONE, GONE, GONE, GONE, OK, GONE),
    "/province": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/province/communes/{commune}": (OK, OK, GONE, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/province/sims": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/province/audits": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/province/coverage.xlsx": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/province/sims.xlsx": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/province/sims-list.xlsx": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/province/audits.xlsx": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/scan": (OK, OK, OK, OK, OK, OK, OK, OK),
    # Administration: admins and officers; officers within their province (a user, school
    # or enrolment of another province is "not found"); API keys for admins only; the
    # donor register is shared, but a donor giving in Điện Biên only is not Lai Châu's to
    # edit.
    "/admin": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/admin/users": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/admin/users?role=school_staff&active=1": (
        OK,
        OK,
        OK,
        REFUSED,
        REFUSED,
        REFUSED,
        REFUSED,
        REFUSED,
    ),
    "/admin/users/{staff_user}": (OK, OK, GONE, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/admin/api-keys": (OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/admin/schools": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/admin/schools/{a}": (OK, OK, GONE, REFUSED, GONE, GONE, GONE, GONE),
    "/admin/schools/{school_c}": (OK, GONE, OK, GONE, GONE, REFUSED, GONE, GONE),
    "/admin/enrolments": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/admin/enrolments?year=2025-2026&q=T": (
        OK,
        OK,
        OK,
        REFUSED,
        REFUSED,
        REFUSED,
        REFUSED,
        REFUSED,
    ),
    "/admin/donors": (OK, OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    "/admin/donors/{donor_id}": (OK, OK, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
}


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_as_every_role(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory, role: str
) -> None:
    scene, ids = await arrange(client, db, factory)
    caller = getattr(scene, role)
    column = ROLES.index(role)
    seen: dict[str, int] = {}
    for template in MATRIX:
        url = template.format(**ids)
        response = await web.get(url, headers=browser(caller))
        seen[url] = response.status_code
        if response.status_code == OK and "html" in response.headers["content-type"]:
            title = re.search(r"<title>(.*?)</title>", response.text, re.S)
            assert title and "<" not in title.group(1), (url, title and title.group(1)[:80])
            forms = re.findall(r'<form[^>]*method="post".*?</form>', response.text, re.S)
            for html in forms:
                assert re.search(r'name="_csrf" value="[0-9a-f]{40}"', html), (url, html[:200])
        if response.status_code == GONE:
            # Shown as a page, saying only that there is no such thing.
            assert response.headers["content-type"].startswith("text/html")
            assert "<h1>Not found</h1>" in response.text
    wanted = {template.format(**ids): row[column] for template, row in MATRIX.items()}
    assert seen == wanted


async def test_an_other_schools_student_cannot_be_lent_a_device(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene, ids = await arrange(client, db, factory)
    foreign = await scene.consenting_student(school=scene.school_b)

    response = await web.post(
        f"/devices/{ids['free']}/lend",
        data=form(scene.staff_a, student_id=str(foreign)),
        headers=browser(scene.staff_a),
    )
    assert response.status_code in (404, 409, 422)
    assert (await scene.device(ids["free"]))["status"] == "at_school"
    stranger = await web.post(
        f"/devices/{ids['free']}/lend",
        data=form(scene.staff_b, student_id=str(foreign)),
        headers=browser(scene.staff_b),
    )
    assert stranger.status_code == 404

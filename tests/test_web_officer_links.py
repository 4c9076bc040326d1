"""A province officer opening a school's students and a student's page (codes, never
names) is offered no link that answers 404: the loan agreement and the loan sheets by
class name the student, so they are for the school's staff and admins only; a new officer
following "Loan agreement (PDF)" met "Not found". Real HTTP, real PostgreSQL."""

from __future__ import annotations

import re

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Caller, Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser


async def _links_of(web: AsyncTestClient, caller: Caller, path: str) -> list[str]:
    page = await web.get(path, headers=browser(caller, "vi"))
    assert page.status_code == 200, path
    main = page.text.split('<main id="main">', 1)[1].split("</main>", 1)[0]
    return [h for h in re.findall(r'href="(/[^"#]*)', main) if not h.startswith("/static/")]


async def test_the_officer_is_offered_only_links_that_open(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    (tag,) = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student(full_name="Lò Thị Bí Mật")
    loan = await scene.lend(tag, student)

    for caller, agreement_shown in ((scene.officer, False), (scene.staff_a, True)):
        on_student = await _links_of(web, caller, f"/students/{student}")
        on_list = await _links_of(web, caller, f"/schools/{scene.school_a}/students")
        assert (f"/assignments/{loan['id']}/agreement.pdf" in on_student) is agreement_shown
        assert (f"/schools/{scene.school_a}/loan-sheet.pdf" in on_list) is agreement_shown
        for href in sorted(set(on_student + on_list)):
            opened = await web.get(href, headers=browser(caller, "vi"))
            assert opened.status_code in (200, 303), (caller.role, href, opened.status_code)

"""What a first week at a school showed (issue #14, items 1, 2 and 6), through the pages
and the API against the real database: receiving keeps every line, audits tell lent
devices from missing ones, and the students' pages fix names, show due dates, list late
loans and hand the family a readable PDF."""

from __future__ import annotations

import io
from datetime import timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.common.clock import local_today
from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import browser, form


def _json_headers(caller) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return browser(caller) | {"X-CSRF-Token": form(caller)["_csrf"]}


def _typo(tag: str) -> str:
    return tag[:-1] + ("0" if tag[-1] != "0" else "1")


# ---- 1. receiving ---------------------------------------------------------------------


async def test_the_receive_box_receives_every_line_it_is_given(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(4)
    await scene.allocate(tags)
    url = f"/schools/{scene.school_a}/receive"
    page = await web.get(url, headers=browser(scene.staff_a))
    assert all(f'data-tag="{t}"' in page.text for t in tags)
    assert 'data-waiting-count>4<' in page.text
    # The box as the page sends it at Enter: every line, two tags pasted on one of them
    # (a spreadsheet row), one typed in lower case with spaces, a typo and a stray word.
    lines = [f"{tags[0]}  {tags[1]}", tags[2].lower().replace("-", " "), _typo(tags[3]), "hello"]
    answer = await web.post(
        f"{url}.json", json={"asset_tags": lines}, headers=_json_headers(scene.staff_a)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert sorted(body["received"]) == sorted(tags[:3])
    assert [d["asset_tag"] for d in body["discrepancies"]] == [_typo(tags[3]), "hello"]
    assert "did you mean" in body["discrepancies"][0]["reason"]
    statuses = dict(await db.fetch("SELECT asset_tag, status FROM devices"))
    assert statuses == {tags[0]: "at_school", tags[1]: "at_school", tags[2]: "at_school",
                        tags[3]: "allocated"}  # fmt: skip
    # The list of what is still to come has only the fourth left.
    after = await web.get(url, headers=browser(scene.staff_a))
    assert f'data-tag="{tags[3]}"' in after.text
    assert not any(f'data-tag="{t}"' in after.text for t in tags[:3])
    assert 'data-waiting-count>1<' in after.text

    # Without JavaScript the form's answer lists what was received, not only a count.
    done = await web.post(
        url, data=form(scene.staff_a, tags=f"{tags[3]}\n{tags[0]}"), headers=browser(scene.staff_a)
    )
    assert done.status_code == 200
    received_list = done.text.split("data-received-list", 1)[1].split("</ul>", 1)[0]
    assert tags[3] in received_list and tags[0] not in received_list
    problems = done.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert tags[0] in problems  # received before: named, with its reason

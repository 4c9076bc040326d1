"""Review of the outbox's routes: a return whose holder is not a number is refused (not
closed for whoever has the device); a form posted to the plain route keeps no
Idempotency-Key answer (a replayed redirect would lose its address)."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.factories import Factory
from tests.lifecycle_helpers import make_scene
from tests.test_web_outbox import keyed, loans_of


async def test_a_return_whose_holder_is_not_a_number_is_refused(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    await scene.lend(tag, student)

    for holder in ("abc", "99999999999"):
        refused = await web.post(
            f"/devices/{tag}/return.json",
            data={"student_id": holder, "condition": "good"},
            headers=keyed(scene.staff_a, f"return-{holder}"),
        )
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["student_id"]
    [loan] = await loans_of(db, tag)
    assert loan["returned_at"] is None  # still lent: nothing was closed


async def test_the_plain_form_route_keeps_no_idempotency_answer(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    student = await scene.consenting_student()
    body = {"student_id": str(student), "condition": "good"}
    headers = keyed(scene.staff_a, "form-1")

    first = await web.post(f"/devices/{tag}/lend", data=body, headers=headers)
    assert first.status_code == 303 and first.headers["location"].startswith(f"/devices/{tag}")
    again = await web.post(f"/devices/{tag}/lend", data=body, headers=headers)
    # Not a replay of a redirect without its address: the form is judged again (lent).
    assert "idempotent-replayed" not in again.headers
    assert again.status_code in (409, 422) and len(await loans_of(db, tag)) == 1
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0

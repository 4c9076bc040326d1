"""Each input limit is defined once (a domain's limits.py): the API's bodies are built from
it, imports and page forms convert into those bodies, and the database holds the stored
text to it with a CHECK. The same over-long value is refused the same way at every door."""

from __future__ import annotations

import html
import importlib
import re
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.common.limits import NOTE
from devicetrack.common.schemas import Body
from devicetrack.students.limits import NAME
from devicetrack.web.i18n import Translator
from tests.factories import Factory, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene
from tests.web_helpers import browser, form

PACKAGE = Path(__file__).resolve().parents[1] / "devicetrack"

LENGTH_CHECKS = """
SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def,
       c.convalidated
  FROM pg_constraint c
  JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public'
 WHERE c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%char_length(%'
"""
_LENGTH = re.compile(r"char_length\(\(?(\w+)\)?(?:::text)?\) <= (\d+)")


def _limits() -> dict[tuple[str, str], int]:
    """Every (table, column) -> most characters, from the domains' limits.py."""
    found: dict[tuple[str, str], int] = {}
    for path in sorted(PACKAGE.glob("*/limits.py")):
        module = importlib.import_module(f"devicetrack.{path.parent.name}.limits")
        lengths: dict[tuple[str, str], int] = getattr(module, "LENGTHS", {})
        assert not set(found) & set(lengths), path
        found |= lengths
    return found


def _bodies() -> list[type[msgspec.Struct]]:
    for path in PACKAGE.glob("*/schemas.py"):
        importlib.import_module(f"devicetrack.{path.parent.name}.schemas")
    out: list[type[msgspec.Struct]] = []
    todo: list[type[msgspec.Struct]] = [Body]
    while todo:
        kind = todo.pop()
        out.append(kind)
        todo += kind.__subclasses__()
    return out


def _max_lengths(kind: Any) -> set[int]:
    """The max_length constraints anywhere in a field's type."""
    info = msgspec.inspect.type_info(kind)
    found: set[int] = set()
    todo = [info]
    while todo:
        node = todo.pop()
        if isinstance(node, msgspec.inspect.StrType) and node.max_length is not None:
            found.add(node.max_length)
        todo += list(getattr(node, "types", ()))
        if isinstance(node, msgspec.inspect.ListType):
            todo.append(node.item_type)
    return found


async def test_every_length_check_in_the_database_matches_its_limit(db: asyncpg.Pool) -> None:
    limits = _limits()
    live: dict[tuple[str, str], int] = {}
    for row in await db.fetch(LENGTH_CHECKS):
        match = _LENGTH.search(row["def"])
        assert match, row["def"]
        key = (row["tbl"], match.group(1))
        assert key not in live, f"two length CHECKs on {key}"
        assert row["conname"] == f"ck_{key[0]}_{key[1]}_length", row["conname"]
        assert row["convalidated"], row["conname"]
        live[key] = int(match.group(2))
    assert live == limits, {
        "in the database only": sorted(set(live) - set(limits)),
        "in limits.py only": sorted(set(limits) - set(live)),
        "different": {
            k: (live[k], limits[k]) for k in set(live) & set(limits) if live[k] != limits[k]
        },
    }


async def test_the_database_refuses_a_value_past_its_limit(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """Even a writer that skips the API (a script, a manual fix) is held to the limit."""
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    with pytest.raises(asyncpg.CheckViolationError) as refused:
        await db.execute("UPDATE devices SET note = $1 WHERE asset_tag = $2", "n" * (NOTE + 1), tag)
    assert refused.value.constraint_name == "ck_devices_note_length"
    await db.execute("UPDATE devices SET note = $1 WHERE asset_tag = $2", "n" * NOTE, tag)


def test_each_checked_column_is_limited_by_a_body_with_the_same_number() -> None:
    """The CHECK and the API's body cannot drift: for every limited column, some request
    body has a field of that name whose limit is the column's (and none another)."""
    by_field: dict[str, set[int]] = {}
    for kind in _bodies():
        for info in msgspec.structs.fields(kind):
            by_field.setdefault(info.name, set()).update(_max_lengths(info.type))
    for (table, column), most in _limits().items():
        assert most in by_field.get(column, set()), (table, column, most, by_field.get(column))


# ---- the same over-long value at every door ----------------------------------------


def _page_errors(text: str) -> list[tuple[str, str, str]]:
    """(row, column label, problem) of the refusal table a page shows."""
    table = re.search(r'<table class="errors">(.*?)</table>', text, re.S)
    assert table, "the page shows no refusal table"
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(1))
    return [tuple(html.unescape(cell) for cell in row) for row in rows]  # type: ignore[misc]


def _only(body: dict[str, Any]) -> tuple[Any, ...]:
    [error] = body["errors"]
    return error.get("row"), error["field"], error["message"]


def _csv(*lines: str) -> dict[str, Any]:
    return {"files": {"file": ("rows.csv", ("\n".join(lines) + "\n").encode(), "text/csv")}}


async def test_an_over_long_device_note_is_refused_alike_by_api_imports_and_pages(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    long = "n" * (NOTE + 1)
    expected = f"at most {NOTE:,} characters"  # digits grouped, as every message does
    intake = f"{API}/donations/{scene.donation_id}/devices"
    officer = scene.officer.headers

    patch = assert_problem(
        await client.patch(f"{API}/devices/{tag}", headers=officer, json={"note": long}), 400
    )
    assert _only(patch) == (None, "note", expected)

    as_json = assert_problem(
        await client.post(intake, headers=officer, json=[{"kind": "laptop", "note": long}]), 422
    )
    assert _only(as_json) == (1, "note", expected)
    as_csv = assert_problem(
        await client.post(
            intake, headers=officer, **_csv("kind,note", "laptop,ok", f"laptop,{long}")
        ),
        422,
    )
    assert _only(as_csv) == (3, "note", expected)
    update = assert_problem(
        await client.post(
            f"{intake}?mode=update", headers=officer, **_csv("asset_tag,note", f"{tag},{long}")
        ),
        422,
    )
    assert _only(update) == (2, "note", expected)

    label = Translator("en").field("note")
    acted = await web.post(
        f"/devices/{tag}/actions/send-to-repair",
        data=form(scene.officer, note=long),
        headers=browser(scene.officer),
    )
    assert acted.status_code == 422, acted.text
    assert _page_errors(acted.text) == [("–", label, expected)]
    registered = await web.post(
        f"/donations/{scene.donation_id}/devices",
        data=form(scene.officer, kind="laptop", note=long),
        headers=browser(scene.officer),
    )
    assert registered.status_code == 422, registered.text
    assert _page_errors(registered.text) == [("1", label, expected)]

    device = await scene.device(tag)
    assert (device["note"], device["status"]) == (None, "in_stock")
    assert await db.fetchval("SELECT count(*) FROM devices") == 1
    # One character less goes in, by each door.
    ok = await client.patch(f"{API}/devices/{tag}", headers=officer, json={"note": long[1:]})
    assert ok.status_code == 200, ok.text
    assert (await scene.device(tag))["note"] == long[1:]


async def test_an_over_long_student_name_is_refused_alike_by_api_import_and_page(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    long = "Lò Thị " + "a" * (NAME - 6)
    assert len(long) == NAME + 1
    expected = f"at most {NAME:,} characters"

    api = assert_problem(
        await client.post(
            f"{API}/students",
            headers=scene.staff_a.headers,
            json={
                "school_id": scene.school_a,
                "student_code": "HS-1",
                "full_name": long,
                "grade": 3,
            },
        ),
        400,
    )
    assert _only(api) == (None, "full_name", expected)

    imported = assert_problem(
        await client.post(
            f"{API}/students/import",
            params={"school_id": scene.school_a},
            headers=scene.staff_a.headers,
            **_csv("student_code,full_name,grade", "HS-1,Lò Thị Mai,3", f"HS-2,{long},4"),
        ),
        422,
    )
    assert _only(imported) == (3, "full_name", expected)

    # The form's own hint is the same number.
    shown = await web.get(f"/schools/{scene.school_a}/students", headers=browser(scene.staff_a))
    assert f'name="full_name" required maxlength="{NAME}"' in shown.text
    page = await web.post(
        f"/schools/{scene.school_a}/students",
        data=form(scene.staff_a, student_code="HS-1", full_name=long, grade="3"),
        headers=browser(scene.staff_a),
    )
    assert page.status_code == 422, page.text
    assert _page_errors(page.text) == [("–", Translator("en").field("full_name"), expected)]
    assert await db.fetchval("SELECT count(*) FROM students") == 0


async def test_an_import_row_lists_every_wrong_field(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """Converting a row stops at its first wrong field; the refusal still lists each one,
    the Struct's and the domain's (a bad IMEI beside a note too long)."""
    scene = await make_scene(client, db, factory)
    body = assert_problem(
        await client.post(
            f"{API}/donations/{scene.donation_id}/devices",
            headers=scene.officer.headers,
            json=[
                {"kind": "smartphone", "imei": "123", "note": "n" * (NOTE + 1), "make": "m" * 101},
                {"kind": "toaster"},
                {"kind": "tablet", "plan_quota_gb": "lots", "colour": "red"},
            ],
        ),
        422,
    )
    assert sorted((e["row"], e["field"]) for e in body["errors"]) == [
        (1, "imei"),
        (1, "make"),
        (1, "note"),
        (2, "kind"),
        (3, "colour"),
        (3, "plan_quota_gb"),
    ]
    assert await db.fetchval("SELECT count(*) FROM devices") == 0


# ---- PATCH: left out is unchanged, null clears -------------------------------------


async def _student(scene: Scene) -> dict[str, Any]:
    return await scene.student(class_name="7A", guardian_name="Lò Văn Pọm", birth_year=2013)


async def test_patch_null_clears_a_field_and_leaving_it_out_keeps_it(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.intake({"kind": "tablet", "make": "Samsung", "note": "màn hình xước"})
    staff, officer = scene.staff_a.headers, scene.officer.headers

    device = await client.patch(f"{API}/devices/{tag}", headers=officer, json={"model": "Tab A9"})
    assert device.status_code == 200, device.text
    assert (device.json()["note"], device.json()["model"]) == ("màn hình xước", "Tab A9")
    cleared = await client.patch(f"{API}/devices/{tag}", headers=officer, json={"note": None})
    assert cleared.status_code == 200, cleared.text
    row = await scene.device(tag)
    assert (row["note"], row["model"], row["make"]) == (None, "Tab A9", "Samsung")
    events = [e for e in await scene.events(tag) if e["action"] == "edited"]
    assert events[-1]["data"] == {"changed": {"note": ["màn hình xước", None]}}

    student = await _student(scene)
    url = f"{API}/students/{student['id']}"
    kept = await client.patch(url, headers=staff, json={"grade": 8})
    assert kept.status_code == 200, kept.text
    assert (kept.json()["class_name"], kept.json()["guardian_name"]) == ("7A", "Lò Văn Pọm")
    gone = await client.patch(url, headers=staff, json={"class_name": None, "guardian_name": None})
    assert gone.status_code == 200, gone.text
    row = await db.fetchrow("SELECT * FROM students WHERE id = $1", student["id"])
    assert (row["class_name"], row["guardian_name"], row["grade"], row["birth_year"]) == (
        None,
        None,
        8,
        2013,
    )
    # No "" marker any more: an empty string is a value, refused where a value is needed.
    empty = assert_problem(await client.patch(url, headers=staff, json={"full_name": ""}), 400)
    assert _only(empty) == (None, "full_name", "required")
    # A field that must hold a value cannot be cleared.
    for field in ("grade", "full_name", "status"):
        refused = assert_problem(await client.patch(url, headers=staff, json={field: None}), 400)
        assert [e["field"] for e in refused["errors"]] == [field]
    assert await db.fetchval("SELECT grade FROM students WHERE id = $1", student["id"]) == 8

    school = f"{API}/schools/{scene.school_a}"
    await client.patch(school, headers=scene.admin.headers, json={"address": "Bản Mường"})
    moved = await client.patch(school, headers=scene.admin.headers, json={"address": None})
    assert moved.status_code == 200, moved.text
    assert moved.json()["address"] is None and moved.json()["name"]

    donor = f"{API}/donors/{scene.donor_id}"
    await client.patch(donor, headers=scene.admin.headers, json={"contact_name": "Chị Lan"})
    unnamed = await client.patch(donor, headers=scene.admin.headers, json={"contact_name": None})
    assert unnamed.status_code == 200, unnamed.text
    assert (
        await db.fetchval("SELECT contact_name FROM donors WHERE id = $1", scene.donor_id) is None
    )

    donation = f"{API}/donations/{scene.donation_id}"
    await client.patch(donation, headers=officer, json={"note": "giao 2 đợt"})
    plain = await client.patch(donation, headers=officer, json={"note": None})
    assert plain.status_code == 200, plain.text
    assert plain.json()["note"] is None and plain.json()["reference"] == "LC-1"


async def test_the_student_edit_page_clears_an_emptied_field_and_keeps_the_rest(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    student = await _student(scene)
    saved = await web.post(
        f"/students/{student['id']}/edit",
        data=form(scene.staff_a, grade="8", class_name="", guardian_name="Lò Thị Dua"),
        headers=browser(scene.staff_a),
    )
    assert saved.status_code == 303, saved.text
    row = await db.fetchrow("SELECT * FROM students WHERE id = $1", student["id"])
    assert (row["grade"], row["class_name"], row["guardian_name"], row["full_name"]) == (
        8,
        None,
        "Lò Thị Dua",
        student["full_name"],
    )
    # An emptied grade (it must hold one) is refused, naming it, and nothing is changed:
    # not the class typed beside it either.
    again = await web.post(
        f"/students/{student['id']}/edit",
        data=form(scene.staff_a, grade="", class_name="8B"),
        headers=browser(scene.staff_a),
    )
    assert again.status_code == 422, again.text
    assert _page_errors(again.text) == [("–", "Grade", "required")]
    row = await db.fetchrow("SELECT grade, class_name FROM students WHERE id = $1", student["id"])
    assert tuple(row) == (8, None)
    # So is an emptied name, once, in the reader's language.
    unnamed = await web.post(
        f"/students/{student['id']}/edit",
        data=form(scene.staff_a, full_name=" ", grade="8"),
        headers=browser(scene.staff_a, "vi"),
    )
    assert unnamed.status_code == 422, unnamed.text
    assert _page_errors(unnamed.text) == [("–", "Họ và tên", "bắt buộc")]
    name = await db.fetchval("SELECT full_name FROM students WHERE id = $1", student["id"])
    assert name == student["full_name"]


async def test_an_emptied_required_field_on_an_edit_page_is_refused_and_nothing_changes(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """Every edit page reads its form with Form.into: a field that must hold a value, emptied,
    is refused with the form shown again, the field named; an optional one emptied clears."""
    scene = await make_scene(client, db, factory)
    admin = scene.admin
    school = f"/admin/schools/{scene.school_a}"
    before = await db.fetchrow("SELECT * FROM schools WHERE id = $1", scene.school_a)
    assert before["name"]
    await client.patch(
        f"{API}/schools/{scene.school_a}", headers=admin.headers, json={"address": "Bản Mường"}
    )
    values = {"commune_code": before["commune_code"], "levels": before["levels"]}

    cleared = await web.post(
        school,
        data=form(admin, name="  ", address="Bản Phăng", **values),
        headers=browser(admin, "vi"),
    )
    assert cleared.status_code == 422, cleared.text
    assert _page_errors(cleared.text) == [("–", "Tên", "bắt buộc")]
    assert 'id="sname"' in cleared.text  # the form, shown again
    row = await db.fetchrow("SELECT name, address FROM schools WHERE id = $1", scene.school_a)
    assert tuple(row) == (before["name"], "Bản Mường")
    english = await web.post(school, data=form(admin, name="", **values), headers=browser(admin))
    assert _page_errors(english.text) == [("–", "The name", "required")]

    # An optional field emptied still clears it.
    saved = await web.post(
        school, data=form(admin, name=before["name"], address="", **values), headers=browser(admin)
    )
    assert saved.status_code == 303, saved.text
    row = await db.fetchrow("SELECT name, address FROM schools WHERE id = $1", scene.school_a)
    assert tuple(row) == (before["name"], None)

    # Another edit page: a donor's short name (printed on the labels) emptied.
    donor = f"/admin/donors/{scene.donor_id}"
    kept = await db.fetchrow("SELECT * FROM donors WHERE id = $1", scene.donor_id)
    refused = await web.post(
        donor,
        data=form(admin, name=kept["name"], short_name="", kind=kept["kind"], contact_name="Lan"),
        headers=browser(admin),
    )
    assert refused.status_code == 422, refused.text
    assert _page_errors(refused.text) == [("–", "Short name", "required")]
    row = await db.fetchrow("SELECT * FROM donors WHERE id = $1", scene.donor_id)
    assert (row["short_name"], row["contact_name"]) == (kept["short_name"], kept["contact_name"])


async def test_an_id_too_large_for_its_column_is_refused_by_name(
    client: AsyncTestClient, factory: Factory
) -> None:
    """An id typed with extra digits is a valid number to the API but no `integer` column
    holds it: the refusal names the parameter, in the reader's language (it said only "a
    value is out of range")."""
    admin = await factory.admin()
    huge = str(2**31)
    for url, name in (
        (f"{API}/reports/audit-due?school={huge}", "school"),
        (f"{API}/schools/{huge}", "school_id"),
    ):
        answer = await client.get(url, headers={**admin.headers, "Accept-Language": "vi"})
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["errors"] == [{"field": name, "message": "vượt giới hạn"}], answer.text
    # An id within range that does not exist is simply not there.
    fine = await client.get(f"{API}/reports/audit-due?school={2**31 - 1}", headers=admin.headers)
    assert fine.status_code == 404
    missing = await client.get(f"{API}/schools/{2**31 - 1}", headers=admin.headers)
    assert missing.status_code == 404

"""Imports read what the pages show: the Vietnamese (or English) column names and value words,
with or without diacritics; and each import has a template in the reader's language whose
example row imports as it is (#14 item 7)."""

from __future__ import annotations

import io
from typing import Any

import asyncpg
import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.common.tabular import UploadLimits, read_table
from devicetrack.common.words import fold
from devicetrack.devices import intake_rows
from devicetrack.devices import words as device_words
from devicetrack.imports.templates import TEMPLATES
from devicetrack.schools import importer as school_import
from devicetrack.schools import words as school_words
from devicetrack.students import importer as student_import
from devicetrack.students import words as student_words
from devicetrack.web.i18n import Translator
from tests.factories import DIEN_BIEN, LAI_CHAU, Caller, Factory, assert_problem
from tests.lifecycle_helpers import API, make_scene

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORTS = {
    "devices": intake_rows.ALIASES,
    "students": student_import.ALIASES,
    "schools": school_import.ALIASES,
    "enrolments": school_import.ENROLMENT_ALIASES,
}


def _header_columns(aliases: dict[str, str], header: list[str]) -> list[str]:
    """The columns an upload with this header row is read as."""
    data = (",".join(f'"{h}"' for h in header) + "\n").encode()
    return read_table(data, "h.csv", aliases, set(), UploadLimits()).columns


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_the_pages_labels_and_the_templates_headings_are_read_as_headers(name: str) -> None:
    aliases = IMPORTS[name]
    columns = list(TEMPLATES[name].columns)
    for lang in ("vi", "en"):
        t = Translator(lang)
        labels = [t.field(c) for c in columns]
        headings = [TEMPLATES[name].headings[c][0 if lang == "vi" else 1] for c in columns]
        for header in (labels, headings, [fold(h) for h in labels], [h.upper() for h in headings]):
            assert _header_columns(aliases, header) == columns, (lang, header)


def test_the_pages_words_for_listed_values_are_read_with_or_without_diacritics() -> None:
    for words in (
        device_words.KINDS,
        device_words.CONDITIONS,
        device_words.CARRIERS,
        device_words.ACTIVATION_LOCKS,
        student_words.PRIORITIES,
        student_words.STATUSES,
        school_words.LEVELS,
    ):
        for member in words.enum:
            for lang in ("vi", "en"):
                shown = Translator(lang).word(member)
                for written in (shown, fold(shown), shown.upper(), words.name(member, lang)):
                    assert words.read(written) == member, (words.enum, member, written)
        assert words.read("no such thing") is None


def _csv(*lines: str) -> dict[str, Any]:
    return {"files": {"file": ("rows.csv", ("\n".join(lines) + "\n").encode(), "text/csv")}}


async def test_the_student_import_takes_vietnamese_headers_and_values(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """ "hộ nghèo" was refused (it wanted poor_household), and so was "Mã học sinh"."""
    scene = await make_scene(client, db, factory)
    response = await client.post(
        f"{API}/students/import",
        params={"school_id": scene.school_a},
        headers=scene.staff_a.headers,
        **_csv(
            "Mã học sinh,Họ và tên,Lớp (khối),Lớp,Đối tượng ưu tiên,Trạng thái",
            "HS-1,Lò Thị Mai,7,7A,hộ nghèo; Dân tộc thiểu số,Đang học",
            "HS-2,Vàng A Dính,3,3B,ho ngheo,dang hoc",
            'HS-3,Quàng Văn Hùng,9,9A,"VUNG SAU VUNG XA, khuyet tat",Đã nghỉ học',
        ),
    )
    assert response.status_code == 201, response.text
    rows = await db.fetch(
        "SELECT student_code, grade, class_name, priority, status FROM students ORDER BY 1"
    )
    assert [tuple(r) for r in rows] == [
        ("HS-1", 7, "7A", ["ethnic_minority", "poor_household"], "active"),
        ("HS-2", 3, "3B", ["poor_household"], "active"),
        ("HS-3", 9, "9A", ["disability", "remote"], "left"),
    ]
    # Headers without diacritics, and a word no list has, refused naming the row.
    refused = assert_problem(
        await client.post(
            f"{API}/students/import",
            params={"school_id": scene.school_a},
            headers=scene.staff_a.headers,
            **_csv("ma hoc sinh,ho va ten,khoi,doi tuong uu tien", "HS-9,A,3,giàu có"),
        ),
        422,
    )
    assert [(e["row"], e["field"]) for e in refused["errors"]] == [(2, "priority")]


async def test_the_device_import_takes_the_pages_headers_without_diacritics(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    response = await client.post(
        f"{API}/donations/{scene.donation_id}/devices",
        headers=scene.officer.headers,
        **_csv(
            "Loai,Hang,Mau may,So se-ri,Tinh trang,Nha mang,Bao hanh den",
            "may tinh bang,Samsung,Galaxy Tab A9,VI-1,tot,,31/12/2027",
            "Máy tính xách tay,Dell,Latitude 3440,VI-2,Mới,,",
        ),
    )
    assert response.status_code == 201, response.text
    rows = await db.fetch(
        "SELECT kind, model, serial, condition, warranty_until::text FROM devices"
    )
    assert sorted(tuple(r) for r in rows) == [
        ("laptop", "Latitude 3440", "VI-2", "new", None),
        ("tablet", "Galaxy Tab A9", "VI-1", "good", "2027-12-31"),
    ]


async def test_schools_and_their_enrolments_import_with_vietnamese_headers(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    officer = await factory.officer(DIEN_BIEN)
    commune = await factory.commune(DIEN_BIEN)
    created = await client.post(
        f"{API}/schools/import",
        headers=officer.headers,
        **_csv(
            "Mã trường,Tên trường,Mã xã,Cấp học,Năm học,Số học sinh,Học sinh ưu tiên",
            f"VI-S1,Trường Tiểu học Mường Phăng,{commune},Tiểu học; THCS,2025-2026,412,130",
        ),
    )
    assert created.status_code == 201, created.text
    school = await db.fetchrow("SELECT id, levels FROM schools WHERE code = 'VI-S1'")
    assert school["levels"] == ["lower_secondary", "primary"]

    enrolments = f"{API}/schools/enrolments/import"
    updated = await client.post(
        enrolments,
        headers=officer.headers,
        **_csv(
            "Ma truong,Nam hoc,So hoc sinh,Hoc sinh uu tien",
            "VI-S1,2025-2026,420,131",
            "VI-S1,2026-2027,430,140",
        ),
    )
    assert updated.status_code == 201, updated.text
    assert updated.json() == {"enrolments": 2}
    stored = await db.fetch(
        "SELECT school_year, students_total, priority_students FROM enrolments"
        " WHERE school_id = $1 ORDER BY 1",
        school["id"],
    )
    assert [tuple(r) for r in stored] == [("2025-2026", 420, 131), ("2026-2027", 430, 140)]

    # Out of scope: another province's officer and another school's staff do not see the
    # school (as if it did not exist); a donor may not import enrolments at all.
    other = await factory.officer(LAI_CHAU)
    staff = await factory.staff(await factory.school(DIEN_BIEN))
    row = _csv("school_code,school_year,students_total", "VI-S1,2027-2028,1")
    for caller in (other, staff):
        refused = assert_problem(await client.post(enrolments, headers=caller.headers, **row), 422)
        assert [(e["row"], e["field"], e["message"]) for e in refused["errors"]] == [
            (2, "school_code", "no school with this code")
        ]
    donor = await factory.donor_user(await factory.donor())
    assert_problem(await client.post(enrolments, headers=donor.headers, **row), 403)
    assert await db.fetchval("SELECT count(*) FROM enrolments") == 2


# ---- templates ---------------------------------------------------------------------


async def _template(client: AsyncTestClient, caller: Caller, name: str, lang: str) -> Any:
    response = await client.get(
        f"{API}/templates/{name}.xlsx", params={"lang": lang}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XLSX)
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _upload(book: Any) -> dict[str, Any]:
    buffer = io.BytesIO()
    book.save(buffer)
    return {"files": {"file": ("template.xlsx", buffer.getvalue(), XLSX)}}


def _check_sheets(book: Any, name: str, lang: str) -> list[Any]:
    """The first sheet's headings are the template's, in `lang`; the second lists each
    listed column's words. Returns the example row."""
    first, second = book.worksheets
    index = 0 if lang == "vi" else 1
    template = TEMPLATES[name]
    rows = list(first.iter_rows(values_only=True))
    assert list(rows[0]) == [template.headings[c][index] for c in template.columns]
    assert len(rows) == 2 and any(rows[1])
    values = list(second.iter_rows(values_only=True))
    assert values[0] == (("Cột", "Giá trị", "Mã") if lang == "vi" else ("Column", "Value", "Code"))
    listed = {
        (column, str(member)) for column, words in template.listed.items() for member in words.enum
    }
    heading = {template.headings[c][index]: c for c in template.columns}
    assert {(heading[c], code) for c, _, code in values[1:]} == listed
    for column, word, code in values[1:]:
        assert template.listed[heading[column]].read(word) == code
    return list(rows[1])


async def test_each_template_is_in_the_readers_language_and_its_example_imports(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    example_school = "Trường PTDTBT TH&THCS Mường Phăng"

    for lang in ("vi", "en"):
        book = await _template(client, scene.officer, "devices", lang)
        example = _check_sheets(book, "devices", lang)
        assert ("Máy tính bảng" if lang == "vi" else "Tablet") in example
        book.worksheets[0]["D2"] = f"R9XT-{lang}"  # serials are unique
        response = await client.post(
            f"{API}/donations/{scene.donation_id}/devices",
            headers=scene.officer.headers,
            **_upload(book),
        )
        assert response.status_code == 201, response.text
        assert (
            await db.fetchval(
                "SELECT kind || ' ' || condition || ' ' || carrier FROM devices WHERE serial = $1",
                f"R9XT-{lang}",
            )
            == "tablet new viettel"
        )

        book = await _template(client, scene.staff_a, "students", lang)
        example = _check_sheets(book, "students", lang)
        assert (
            "Dân tộc thiểu số; Vùng sâu vùng xa" if lang == "vi" else "Ethnic minority; Remote area"
        ) in example
        book.worksheets[0]["A2"] = f"HS-{lang}"
        response = await client.post(
            f"{API}/students/import",
            params={"school_id": scene.school_a},
            headers=scene.staff_a.headers,
            **_upload(book),
        )
        assert response.status_code == 201, response.text
        row = await db.fetchrow(
            "SELECT priority, status FROM students WHERE student_code = $1", f"HS-{lang}"
        )
        assert (row["priority"], row["status"]) == (["ethnic_minority", "remote"], "active")

        book = await _template(client, scene.officer, "schools", lang)
        example = _check_sheets(book, "schools", lang)
        assert example_school in example
        book.worksheets[0]["A2"] = f"MAU-{lang}"
        response = await client.post(
            f"{API}/schools/import", headers=scene.officer.headers, **_upload(book)
        )
        assert response.status_code == 201, response.text
        assert response.json()["enrolments"] == 1

        book = await _template(client, scene.staff_a, "enrolments", lang)
        example = _check_sheets(book, "enrolments", lang)
        code = await db.fetchval("SELECT code FROM schools WHERE id = $1", scene.school_a)
        assert example[0] == code  # a school of the reader's, so the row imports as it is
        response = await client.post(
            f"{API}/schools/enrolments/import", headers=scene.staff_a.headers, **_upload(book)
        )
        assert response.status_code == 201, response.text
    assert (
        await db.fetchval(
            "SELECT students_total FROM enrolments WHERE school_id = $1", scene.school_a
        )
        == 412
    )


async def test_a_template_follows_the_readers_language_and_its_import_roles(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    await db.execute("UPDATE users SET locale = 'en' WHERE id = $1", scene.donor.user_id)
    response = await client.get(f"{API}/templates/devices.xlsx", headers=scene.donor.headers)
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.worksheets[0]["A1"].value == "Kind"
    vi = await client.get(f"{API}/templates/devices.xlsx", headers=scene.officer.headers)
    assert openpyxl.load_workbook(io.BytesIO(vi.content)).worksheets[0]["A1"].value == "Loại"

    for caller, name in (
        (scene.donor, "students"),
        (scene.donor, "schools"),
        (scene.donor, "enrolments"),
        (scene.staff_a, "devices"),
        (scene.staff_a, "schools"),
        (scene.officer, "students"),
    ):
        refused = await client.get(f"{API}/templates/{name}.xlsx", headers=caller.headers)
        assert_problem(refused, 403)
    assert_problem(await client.get(f"{API}/templates/devices.xlsx"), 401)
    assert_problem(
        await client.get(f"{API}/templates/devices.xlsx?lang=fr", headers=scene.admin.headers), 400
    )

"""School import from CSV and XLSX: all-or-nothing, every bad row named by its spreadsheet
row number, scoped to the caller's province."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.factories import DIEN_BIEN, LAI_CHAU, assert_problem

IMPORT = "/api/v1/schools/import"
HEADER = [
    "code",
    "name",
    "commune_code",
    "province_code",
    "levels",
    "former_district",
    "school_year",
    "students_total",
    "priority_students",
    "address",
]


@pytest.fixture
async def communes(db) -> list[str]:
    rows = await db.fetch(
        "SELECT code FROM communes WHERE province_code = $1 ORDER BY code", DIEN_BIEN
    )
    return [r["code"] for r in rows]


def _rows(communes: list[str], n: int) -> list[list[str]]:
    return [
        [
            f"DB{i:05d}",
            f"Trường Tiểu học số {i} Mường Chà",
            communes[i % len(communes)],
            DIEN_BIEN,
            "primary;lower_secondary" if i % 2 else "primary",
            "Điện Biên Đông",
            "2025-2026",
            str(100 + i % 300),
            str(i % 50),
            f"Bản Huổi {i}, xã Mường Chà; tỉnh Điện Biên",
        ]
        for i in range(n)
    ]


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _upload(data: bytes, name: str = "truong.csv", mime: str = "text/csv") -> dict:
    return {"files": {"file": (name, data, mime)}}


async def test_a_thousand_rows_with_three_bad_ones_import_nothing(
    client, db, factory, communes
) -> None:
    admin = await factory.admin()
    rows = _rows(communes, 1000)
    # Data row i sits on spreadsheet row i + 2 (the header is row 1).
    rows[99][2] = "99999"  # unknown commune → row 101
    rows[499][0] = rows[10][0]  # duplicate school code → row 501
    rows[899][7] = "-5"  # negative enrolment → row 901
    response = await client.post(IMPORT, headers=admin.headers, **_upload(_csv(rows)))
    body = assert_problem(response, 422)
    errors = body["errors"]
    assert sorted(e["row"] for e in errors) == [101, 501, 901], errors
    by_row = {e["row"]: e for e in errors}
    assert by_row[101]["field"] == "commune_code" and "99999" in by_row[101]["message"]
    assert by_row[501]["field"] == "code" and "row 12" in by_row[501]["message"]
    assert by_row[901]["field"] == "students_total"
    assert "3 rows are wrong" in body["detail"]
    assert await db.fetchval("SELECT count(*) FROM schools") == 0
    assert await db.fetchval("SELECT count(*) FROM enrolments") == 0

    # The corrected file goes in whole, with its enrolments.
    fixed = _rows(communes, 1000)
    response = await client.post(IMPORT, headers=admin.headers, **_upload(_csv(fixed)))
    assert response.status_code == 201, response.text[:2000]
    result = response.json()
    assert result["created"] == 1000 and result["enrolments"] == 1000
    assert len(result["school_ids"]) == 1000
    assert await db.fetchval("SELECT count(*) FROM schools") == 1000
    assert await db.fetchval("SELECT count(*) FROM enrolments") == 1000
    # Ids come back in file order; each row's values landed on its school.
    sample = await db.fetchrow(
        """SELECT s.id, s.code, s.name, s.commune_code, s.province_code, s.levels,
                  s.former_district, s.address, e.school_year, e.students_total, e.priority_students
           FROM schools s JOIN enrolments e ON e.school_id = s.id WHERE s.code = 'DB00777'"""
    )
    assert sample["id"] == result["school_ids"][777]
    assert sample["name"] == "Trường Tiểu học số 777 Mường Chà"
    assert sample["commune_code"] == communes[777 % len(communes)]
    assert sample["province_code"] == DIEN_BIEN
    assert sample["levels"] == ["lower_secondary", "primary"]
    assert sample["former_district"] == "Điện Biên Đông"
    assert sample["address"] == "Bản Huổi 777, xã Mường Chà; tỉnh Điện Biên"
    assert (sample["school_year"], sample["students_total"], sample["priority_students"]) == (
        "2025-2026",
        100 + 777 % 300,
        777 % 50,
    )

    # Importing the same file again: every code now exists, nothing changes.
    again = assert_problem(
        await client.post(IMPORT, headers=admin.headers, **_upload(_csv(fixed))), 422
    )
    assert len(again["errors"]) == 1000
    assert again["errors"][0] == {
        "row": 2,
        "field": "code",
        "message": "a school with this code already exists",
    }
    assert await db.fetchval("SELECT count(*) FROM schools") == 1000


async def test_xlsx_import_with_vietnamese_headers(client, db, factory, communes) -> None:
    officer = await factory.officer(DIEN_BIEN)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Mã trường", "Tên trường", "Mã xã", "Cấp học", "Năm học", "Số học sinh"])
    # Spreadsheets turn codes into numbers: the leading zero of the commune is lost.
    sheet.append(
        ["DBX-1", "Trường PTDTBT TH&THCS Mường Chà", int(communes[0]), "primary", "2025-2026", 412]
    )
    sheet.append(["DBX-2", "Trường Mầm non Điện Biên Đông", communes[1], "preschool", None, None])
    sheet.append([None, None, None, None, None, None])  # blank rows are skipped
    sheet.append(
        ["DBX-3", "Trường THPT Mường Nhé", communes[2], "upper_secondary", "2025-2026", 800.0]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    response = await client.post(
        IMPORT,
        headers=officer.headers,
        **_upload(
            buffer.getvalue(),
            "truong.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    )
    assert response.status_code == 201, response.text
    assert response.json()["created"] == 3 and response.json()["enrolments"] == 2
    rows = await db.fetch(
        """SELECT s.code, s.name, s.commune_code, s.province_code, e.students_total
           FROM schools s LEFT JOIN enrolments e ON e.school_id = s.id ORDER BY s.code"""
    )
    assert [tuple(r) for r in rows] == [
        ("DBX-1", "Trường PTDTBT TH&THCS Mường Chà", communes[0], DIEN_BIEN, 412),
        ("DBX-2", "Trường Mầm non Điện Biên Đông", communes[1], DIEN_BIEN, None),
        ("DBX-3", "Trường THPT Mường Nhé", communes[2], DIEN_BIEN, 800),
    ]


async def test_province_officer_cannot_import_into_another_province(
    client, db, factory, communes
) -> None:
    officer = await factory.officer(DIEN_BIEN)
    lai_chau = await factory.commune(LAI_CHAU)
    rows = _rows(communes, 4)
    rows[2][2], rows[2][3] = lai_chau, LAI_CHAU
    body = assert_problem(
        await client.post(IMPORT, headers=officer.headers, **_upload(_csv(rows))), 422
    )
    assert body["errors"] == [
        {"row": 4, "field": "commune_code", "message": "outside your province"}
    ]
    assert await db.fetchval("SELECT count(*) FROM schools") == 0

    # The same file is fine for an admin.
    admin = await factory.admin()
    ok = await client.post(IMPORT, headers=admin.headers, **_upload(_csv(rows)))
    assert ok.status_code == 201, ok.text
    assert (
        await db.fetchval("SELECT province_code FROM schools WHERE code = $1", rows[2][0])
        == LAI_CHAU
    )


async def test_row_level_checks(client, db, factory, communes) -> None:
    admin = await factory.admin()
    rows = _rows(communes, 6)
    rows[0][1] = ""  # name missing → row 2
    rows[1][3] = LAI_CHAU  # commune is in Điện Biên → row 3
    rows[2][4] = "university"  # unknown level → row 4
    rows[3][6] = "2025-2027"  # not consecutive years → row 5
    rows[4][8] = str(int(rows[4][7]) + 1)  # more priority than total → row 6
    body = assert_problem(
        await client.post(IMPORT, headers=admin.headers, **_upload(_csv(rows))), 422
    )
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (2, "name"),
        (3, "province_code"),
        (4, "levels"),
        (5, "school_year"),
        (6, "priority_students"),
    ]
    assert await db.fetchval("SELECT count(*) FROM schools") == 0


async def test_bad_files_are_refused(client, db, factory, communes) -> None:
    admin = await factory.admin()
    h = admin.headers
    header = assert_problem(
        await client.post(IMPORT, headers=h, **_upload(b"code,name,colour\nA,B,red\n")),
        422,
    )
    assert {"row": 1, "field": "colour", "message": "unknown column"} in header["errors"]
    assert {"row": 1, "field": "commune_code", "message": "required column missing"} in header[
        "errors"
    ]
    empty = assert_problem(await client.post(IMPORT, headers=h, **_upload(_csv([]))), 422)
    assert empty["errors"][0]["row"] == 2
    broken = assert_problem(
        await client.post(
            IMPORT, headers=h, **_upload(b"PK\x03\x04 not really", "x.xlsx", "application/zip")
        ),
        422,
    )
    assert broken["errors"][0]["field"] == "file"
    missing = assert_problem(
        await client.post(IMPORT, headers=h, files={"other": ("a.csv", b"x", "text/csv")}), 422
    )
    assert missing["errors"][0]["field"] == "file"
    assert await db.fetchval("SELECT count(*) FROM schools") == 0


async def test_only_officers_and_admins_import(client, db, factory, communes) -> None:
    school = await factory.school(DIEN_BIEN)
    callers = [await factory.staff(school), await factory.donor_user(await factory.donor())]
    data = _csv(_rows(communes, 2))
    for caller in callers:
        assert_problem(await client.post(IMPORT, headers=caller.headers, **_upload(data)), 403)
    assert_problem(await client.post(IMPORT, **_upload(data)), 401)
    assert await db.fetchval("SELECT count(*) FROM schools") == 1


async def test_excel_style_csv_with_bom_and_semicolons(client, db, factory, communes) -> None:
    """Excel's "CSV UTF-8" adds a byte-order mark; Vietnamese locales separate with `;`."""
    admin = await factory.admin()
    text = (
        "Mã trường;Tên trường;Mã xã;Năm học;Số học sinh\r\n"
        f"BOM-1;Trường TH Mường Chà;{communes[5]};2025-2026;1 234\r\n"
    )
    response = await client.post(IMPORT, headers=admin.headers, **_upload(text.encode("utf-8-sig")))
    assert response.status_code == 201, response.text
    row = await db.fetchrow(
        "SELECT s.code, s.name, e.students_total FROM schools s JOIN enrolments e"
        " ON e.school_id = s.id"
    )
    assert tuple(row) == ("BOM-1", "Trường TH Mường Chà", 1234)


async def test_a_national_size_file_is_not_limited_by_query_arguments(client, db, factory) -> None:
    """More rows than the driver's 32,767 query arguments: checked and imported whole."""
    admin = await factory.admin()
    communes = [r["code"] for r in await db.fetch("SELECT code FROM communes ORDER BY code")]
    n = 33_000
    lines = ["code,name,commune_code"]
    lines += [f"VN{i:06d},Trường {i},{communes[i % len(communes)]}" for i in range(n)]
    # The last row reuses an existing code so the duplicate check has to see every code.
    await factory.school(DIEN_BIEN, code=f"VN{n - 1:06d}")
    refused = await client.post(IMPORT, headers=admin.headers, **_upload("\n".join(lines).encode()))
    body = assert_problem(refused, 422)
    assert body["errors"] == [
        {"row": n + 1, "field": "code", "message": "a school with this code already exists"}
    ]
    assert await db.fetchval("SELECT count(*) FROM schools") == 1

    await db.execute("DELETE FROM schools")
    response = await client.post(
        IMPORT, headers=admin.headers, **_upload("\n".join(lines).encode())
    )
    assert response.status_code == 201, response.text[:500]
    assert response.json()["created"] == n
    assert await db.fetchval("SELECT count(*) FROM schools") == n

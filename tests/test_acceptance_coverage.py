"""A hand-built scenario whose every §5 figure is computed by hand: three schools in two
communes, loans, a broken device, one in repair, a lost one, an expired and a valid SIM."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl

from devicetrack.common.clock import local_today
from devicetrack.reports.service import current_school_year
from tests.factories import DIEN_BIEN, assert_problem

FIGURES = (
    "enrolled",
    "priority_enrolled",
    "devices_held",
    "devices_working",
    "students_with_device",
    "priority_with_device",
    "students_connected",
    "coverage_pct",
    "priority_coverage_pct",
    "devices_per_100",
    "gap",
    "overdue_audit",
    "last_audit_at",
)


async def _scenario(client, factory, db):
    admin = await factory.admin()
    h = admin.headers
    c1, c2 = await factory.commune(DIEN_BIEN, 1), await factory.commune(DIEN_BIEN, 2)
    a1 = await factory.school(DIEN_BIEN, commune_code=c1, name="A1")
    a2 = await factory.school(DIEN_BIEN, commune_code=c1, name="A2")
    b1 = await factory.school(DIEN_BIEN, commune_code=c2, name="B1")
    for school, total, priority in ((a1, 100, 40), (a2, 50, 0), (b1, 20, 5)):
        await db.execute(
            "INSERT INTO enrolments (school_id, school_year, students_total,"
            " priority_students) VALUES ($1, $2, $3, $4)",
            school,
            current_school_year(),
            total,
            priority,
        )
    donor = await factory.donor()
    donation = (
        await client.post(
            "/api/v1/donations",
            headers=h,
            json={"donor_id": donor, "province_code": DIEN_BIEN, "reference": "HAND"},
        )
    ).json()["id"]
    today = local_today()
    t1, t2, t3, t4, t5, lap, sim_ok, sim_old = (
        await client.post(
            f"/api/v1/donations/{donation}/devices",
            headers=h,
            json=[
                *({"kind": "tablet", "serial": f"T{i}"} for i in range(1, 6)),
                {"kind": "laptop", "serial": "L1"},
                {
                    "kind": "sim",
                    "iccid": "8984040000000000011",
                    "plan_expires_on": (today + timedelta(days=30)).isoformat(),
                },
                {
                    "kind": "sim",
                    "iccid": "8984040000000000029",
                    "plan_expires_on": (today - timedelta(days=1)).isoformat(),
                },
            ],
        )
    ).json()["asset_tags"]

    async def act(tag: str, action: str, **body) -> None:
        r = await client.post(f"/api/v1/devices/{tag}/actions/{action}", headers=h, json=body)
        assert r.status_code == 200, (tag, action, r.text)

    await act(t1, "install-sim", sim=sim_ok)
    await act(t2, "install-sim", sim=sim_old)
    for tag in (t1, t2, t3, t4, t5):
        await act(tag, "allocate", school_id=a1)
        await act(tag, "receive")
    await act(lap, "allocate", school_id=a2)
    await act(lap, "receive")
    await act(t3, "send-to-repair")
    await act(t3, "back-from-repair", condition="broken")  # at school, broken
    await act(t4, "send-to-repair")  # held, not working
    await act(t5, "report-lost")  # not held
    students = []
    for code, priority in (("S1", ["ethnic_minority"]), ("S2", []), ("S3", ["remote"])):
        r = await client.post(
            "/api/v1/students",
            headers=h,
            json={
                "school_id": a1,
                "student_code": code,
                "full_name": code,
                "grade": 5,
                "priority": priority,
            },
        )
        students.append(r.json()["id"])
        await client.post(
            f"/api/v1/students/{r.json()['id']}/consents",
            headers=h,
            json={"given_by": "PH", "method": "paper", "given_at": "2025-09-01"},
        )
    for tag, student in ((t1, students[0]), (t2, students[1])):
        r = await client.post(
            "/api/v1/assignments", headers=h, json={"asset_tag": tag, "student_id": student}
        )
        assert r.status_code == 201, r.text
    return admin, (a1, a2, b1), (c1, c2)


def _expected(target: int) -> dict:
    def row(enrolled, pe, held, working, swd, pwd, conn, gap):
        def pct(n: int, d: int) -> float | None:
            return round(100 * n / d, 1) if d else None

        return {
            "enrolled": enrolled,
            "priority_enrolled": pe,
            "devices_held": held,
            "devices_working": working,
            "students_with_device": swd,
            "priority_with_device": pwd,
            "students_connected": conn,
            "coverage_pct": pct(swd, enrolled),
            "priority_coverage_pct": pct(pwd, pe),
            "devices_per_100": pct(working, enrolled),
            "gap": gap,
            "overdue_audit": 0,
            "last_audit_at": None,
        }

    if target == 100:
        a1, a2, b1 = (
            row(100, 40, 4, 2, 2, 1, 1, 98),
            row(50, 0, 1, 1, 0, 0, 0, 49),
            row(20, 5, 0, 0, 0, 0, 0, 20),
        )
        c1, province = row(150, 40, 5, 3, 2, 1, 1, 147), row(170, 45, 5, 3, 2, 1, 1, 167)
    else:  # 50 devices per 100 students
        a1, a2, b1 = (
            row(100, 40, 4, 2, 2, 1, 1, 48),
            row(50, 0, 1, 1, 0, 0, 0, 24),
            row(20, 5, 0, 0, 0, 0, 0, 10),
        )
        c1, province = row(150, 40, 5, 3, 2, 1, 1, 72), row(170, 45, 5, 3, 2, 1, 1, 82)
    c2 = dict(b1)
    return {"schools": [a1, a2, b1], "communes": [c1, c2], "province": province}


def _figures(row: dict) -> dict:
    return {f: row[f] for f in FIGURES}


async def test_every_figure_at_every_level_in_json(client, factory, db) -> None:
    admin, (a1, a2, b1), (c1, c2) = await _scenario(client, factory, db)
    for target in (100, 50):
        expected = _expected(target)
        params = {"province": DIEN_BIEN, "target_per_100": target}
        schools = (
            await client.get(
                "/api/v1/reports/coverage",
                headers=admin.headers,
                params={**params, "level": "school"},
            )
        ).json()["items"]
        assert [r["school_id"] for r in schools] == [a1, a2, b1]  # largest gap first
        assert [_figures(r) for r in schools] == expected["schools"]
        communes = (
            await client.get(
                "/api/v1/reports/coverage",
                headers=admin.headers,
                params={**params, "level": "commune"},
            )
        ).json()["items"]
        assert {r["commune_code"]: _figures(r) for r in communes} == {
            c1: expected["communes"][0],
            c2: expected["communes"][1],
        }
        province = (
            await client.get(
                "/api/v1/reports/coverage",
                headers=admin.headers,
                params={**params, "level": "province"},
            )
        ).json()["items"]
        assert [_figures(r) for r in province] == [expected["province"]]
    by_name = (
        await client.get(
            "/api/v1/reports/coverage",
            headers=admin.headers,
            params={"level": "school", "sort": "school_name"},
        )
    ).json()["items"]
    assert [r["school_name"] for r in by_name] == ["A1", "A2", "B1"]


async def test_csv_and_xlsx_carry_the_same_figures(client, factory, db) -> None:
    admin, _, _ = await _scenario(client, factory, db)
    expected = _expected(100)["schools"]
    response = await client.get(
        "/api/v1/reports/coverage",
        headers=admin.headers,
        params={"level": "school", "format": "csv"},
    )
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    for row, want in zip(rows, expected, strict=True):
        for figure in (
            "enrolled",
            "devices_held",
            "devices_working",
            "students_with_device",
            "priority_with_device",
            "students_connected",
            "gap",
        ):
            assert int(row[figure]) == want[figure]
        assert row["coverage_pct"] == str(want["coverage_pct"])
        assert row["priority_coverage_pct"] == (
            "" if want["priority_coverage_pct"] is None else str(want["priority_coverage_pct"])
        )
    response = await client.get(
        "/api/v1/reports/coverage",
        headers=admin.headers,
        params={"level": "school", "format": "xlsx"},
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2"
    for excel_row, want in zip(sheet.iter_rows(min_row=2, values_only=True), expected, strict=True):
        values = dict(zip(header, excel_row, strict=True))
        for figure in (
            "enrolled",
            "devices_working",
            "students_with_device",
            "gap",
            "coverage_pct",
            "devices_per_100",
        ):
            assert values[figure] == want[figure]
    assert sheet.cell(row=2, column=header.index("coverage_pct") + 1).number_format == "0.0"


async def test_a_school_year_spans_two_consecutive_years(client, factory) -> None:
    officer = await factory.officer()
    for year in ("2026-2028", "2027-2026"):
        response = await client.get(
            "/api/v1/reports/coverage", params={"year": year}, headers=officer.headers
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["field"] == "year", year

"""All-or-nothing import of a school's students from CSV or XLSX."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.tabular import ROWS_WRONG, UploadLimits, parse_int, parse_table
from devicetrack.common.workers import off_loop, release
from devicetrack.devices.identity import normalise_msisdn
from devicetrack.errors import FieldError, ValidationFailed, echo
from devicetrack.i18n import N_, Message
from devicetrack.schools import service as schools
from devicetrack.students import repository as repo
from devicetrack.students.schemas import StudentImportResult
from devicetrack.students.service import ensure_student_reader, ensure_student_writer
from devicetrack.students.values import PriorityFlag, StudentStatus

ALIASES = {
    "student_code": "student_code",
    "code": "student_code",
    "mã_học_sinh": "student_code",
    "ma_hoc_sinh": "student_code",
    "full_name": "full_name",
    "name": "full_name",
    "họ_và_tên": "full_name",
    "họ_tên": "full_name",
    "ho_ten": "full_name",
    "grade": "grade",
    "khối": "grade",
    "khoi": "grade",
    "class_name": "class_name",
    "class": "class_name",
    "lớp": "class_name",
    "lop": "class_name",
    "priority": "priority",
    "ưu_tiên": "priority",
    "uu_tien": "priority",
    "national_id": "national_id",
    "cccd": "national_id",
    "mã_định_danh": "national_id",
    "birth_year": "birth_year",
    "năm_sinh": "birth_year",
    "nam_sinh": "birth_year",
    "guardian_name": "guardian_name",
    "phụ_huynh": "guardian_name",
    "phu_huynh": "guardian_name",
    "guardian_phone": "guardian_phone",
    "sđt_phụ_huynh": "guardian_phone",
    "status": "status",
}
REQUIRED = {"student_code", "full_name", "grade"}


async def import_students(
    session: AsyncSession,
    principal: Principal,
    school_id: int,
    data: bytes,
    filename: str | None,
    limits: UploadLimits,
) -> StudentImportResult:
    ensure_student_reader(principal)
    await schools.get_school(session, principal, school_id)
    ensure_student_writer(principal, school_id)
    table = await parse_table(data, filename, ALIASES, REQUIRED, limits)
    if not table.rows:
        raise ValidationFailed(
            N_("The file has no data rows."), errors=[FieldError(row=2, message=N_("no rows"))]
        )
    taken = await repo.existing_codes(
        session, school_id, [r["student_code"] for _, r in table.rows]
    )
    # Checking 200,000 rows is a pure-Python loop of a second or more: off the event loop.
    rows, errors = await off_loop(_checked_rows, table.rows, taken, school_id)
    await table.rows.release()
    try:
        if errors:
            raise ValidationFailed(
                ROWS_WRONG,
                errors=errors,
                n=len({e.row for e in errors}),
            )
        ids = await repo.insert_students(session, rows)
    finally:
        await release(rows, errors)
    return StudentImportResult(created=len(ids), student_ids=ids)


def _checked_rows(
    table_rows: Sequence[tuple[int, dict[str, str]]], taken: set[str], school_id: int
) -> tuple[list[dict[str, object]], list[FieldError]]:
    """The students to insert, and every error of every row."""
    errors: list[FieldError] = []
    rows: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for number, row in table_rows:
        n = len(errors)

        def bad(field: str, message: str, number: int = number) -> None:
            errors.append(FieldError(row=number, field=field, message=message))

        code = row.get("student_code", "")
        if not code:
            bad("student_code", N_("required"))
        elif code in seen:
            bad("student_code", Message(N_("duplicate of row {row} in this file"), row=seen[code]))
        elif code in taken:
            bad("student_code", N_("a student with this code exists at this school"))
        else:
            seen[code] = number
        if not row.get("full_name"):
            bad("full_name", N_("required"))
        grade = None
        try:
            grade = parse_int(row.get("grade", ""))
            if not 0 <= grade <= 12:
                bad("grade", N_("must be 0 (preschool) to 12"))
        except ValueError as exc:
            bad("grade", str(exc))
        flags = [
            f.strip() for f in row.get("priority", "").replace(";", ",").split(",") if f.strip()
        ]
        if unknown := [f for f in flags if f not in set(PriorityFlag)]:
            bad(
                "priority",
                Message(
                    N_("unknown flag {flag!r}; use {choices}"),
                    flag=echo(unknown[0]),
                    choices=", ".join(PriorityFlag),
                ),
            )
        national_id = row.get("national_id") or None
        if national_id and not (len(national_id) == 12 and national_id.isdigit()):
            bad("national_id", N_("must be 12 digits"))
        birth_year = None
        if row.get("birth_year"):
            try:
                birth_year = parse_int(row["birth_year"])
                if not 1990 <= birth_year <= 2030:
                    bad("birth_year", N_("out of range"))
            except ValueError as exc:
                bad("birth_year", str(exc))
        phone = None
        if row.get("guardian_phone"):
            phone, problem = normalise_msisdn(row["guardian_phone"])
            if problem:
                bad("guardian_phone", problem)
        status = row.get("status") or "active"
        if status not in set(StudentStatus):
            bad("status", Message(N_("use one of {choices}"), choices=", ".join(StudentStatus)))
        if len(errors) == n:
            rows.append(
                {
                    "school_id": school_id,
                    "student_code": code,
                    "full_name": row["full_name"],
                    "grade": grade,
                    "class_name": row.get("class_name") or None,
                    "priority": sorted(set(flags)),
                    "national_id": national_id,
                    "birth_year": birth_year,
                    "guardian_name": row.get("guardian_name") or None,
                    "guardian_phone": phone,
                    "status": status,
                }
            )
    return rows, errors

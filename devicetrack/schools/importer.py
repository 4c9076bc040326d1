"""All-or-nothing import of schools with their enrolments from CSV or XLSX.

Every row is checked before anything is written, and every bad row is reported at once;
then the schools go in with one multi-row INSERT and the enrolments with another, inside
the request's single transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.tabular import ROWS_WRONG, UploadLimits, parse_bool, parse_int, parse_table
from devicetrack.common.workers import off_loop, release
from devicetrack.errors import FieldError, Forbidden, RowErrors, ValidationFailed, echo
from devicetrack.i18n import N_, Message
from devicetrack.regions import repository as regions
from devicetrack.schools import repository as repo
from devicetrack.schools.schemas import ImportResult
from devicetrack.schools.values import SchoolLevel

ALIASES = {
    "code": "code",
    "school_code": "code",
    "mã_trường": "code",
    "ma_truong": "code",
    "name": "name",
    "school_name": "name",
    "tên_trường": "name",
    "ten_truong": "name",
    "province_code": "province_code",
    "mã_tỉnh": "province_code",
    "commune_code": "commune_code",
    "mã_xã": "commune_code",
    "ma_xa": "commune_code",
    "levels": "levels",
    "cấp_học": "levels",
    "cap_hoc": "levels",
    "former_district": "former_district",
    "huyện_cũ": "former_district",
    "address": "address",
    "địa_chỉ": "address",
    "dia_chi": "address",
    "active": "active",
    "school_year": "school_year",
    "năm_học": "school_year",
    "nam_hoc": "school_year",
    "students_total": "students_total",
    "students": "students_total",
    "số_học_sinh": "students_total",
    "so_hoc_sinh": "students_total",
    "priority_students": "priority_students",
    "học_sinh_ưu_tiên": "priority_students",
}
REQUIRED = {"code", "name", "commune_code"}


async def import_schools(
    session: AsyncSession,
    principal: Principal,
    data: bytes,
    filename: str | None,
    limits: UploadLimits,
) -> ImportResult:
    if not (principal.is_admin or principal.is_province_officer):
        raise Forbidden(N_("Only province officers and admins import schools."))
    table = await parse_table(data, filename, ALIASES, REQUIRED, limits)
    if not table.rows:
        raise ValidationFailed(
            N_("The file has no data rows."), errors=[FieldError(row=2, message=N_("no rows"))]
        )

    communes = await regions.commune_provinces(
        session, sorted({r["commune_code"].zfill(5) for _, r in table.rows if r["commune_code"]})
    )
    taken = await repo.existing_codes(session, [r["code"] for _, r in table.rows if r["code"]])
    # A pure-Python pass over every row: off the event loop.
    schools, enrolments, errors = await off_loop(
        _checked_rows, table.rows, communes, taken, principal
    )
    await table.rows.release()
    try:
        if errors:
            raise ValidationFailed(
                ROWS_WRONG,
                errors=errors.listed,
                not_listed=errors.not_listed,
                n=errors.wrong_rows(),
            )
        ids = await repo.insert_schools(session, schools)
        enrolled = len(enrolments)
        await repo.upsert_enrolments(session, [{"school_id": ids[i], **e} for i, e in enrolments])
    finally:
        await release(schools, enrolments)
    return ImportResult(created=len(ids), enrolments=enrolled, school_ids=ids)


def _checked_rows(
    table_rows: Sequence[tuple[int, dict[str, str]]],
    communes: dict[str, str],
    taken: set[str],
    principal: Principal,
) -> tuple[list[dict[str, object]], list[tuple[int, dict[str, object]]], RowErrors]:
    """The schools to insert, their enrolments (by index into the schools), and the errors
    (the first MAX_LISTED_ERRORS listed, the rest counted)."""
    found = RowErrors()
    schools: list[dict[str, object]] = []
    enrolments: list[tuple[int, dict[str, object]]] = []
    seen_codes: dict[str, int] = {}

    def bad(row: int, field: str, message: str) -> None:
        errors.append(FieldError(row=row, field=field, message=message))

    for number, row in table_rows:
        errors: list[FieldError] = []  # this row's
        code = row.get("code", "")
        if not code:
            bad(number, "code", N_("required"))
        elif len(code) > 32:
            bad(number, "code", Message(N_("longer than {max:,} characters"), max=32))
        elif code in seen_codes:
            bad(
                number,
                "code",
                Message(N_("duplicate of row {row} in this file"), row=seen_codes[code]),
            )
        elif code in taken:
            bad(number, "code", N_("a school with this code already exists"))
        else:
            seen_codes[code] = number
        if not row.get("name"):
            bad(number, "name", N_("required"))
        commune = row.get("commune_code", "").zfill(5) if row.get("commune_code") else ""
        province = communes.get(commune)
        if not commune:
            bad(number, "commune_code", N_("required"))
        elif province is None:
            bad(
                number,
                "commune_code",
                Message(N_("unknown commune code {code}"), code=echo(row["commune_code"])),
            )
        else:
            given = row.get("province_code", "")
            if given and given.zfill(2) != province:
                bad(
                    number,
                    "province_code",
                    Message(
                        N_("commune {commune} is in province {province}"),
                        commune=commune,
                        province=province,
                    ),
                )
            if principal.is_province_officer and province != principal.province_code:
                bad(number, "commune_code", N_("outside your province"))
        levels = [
            lv.strip() for lv in row.get("levels", "").replace(";", ",").split(",") if lv.strip()
        ]
        unknown = [lv for lv in levels if lv not in set(SchoolLevel)]
        if unknown:
            bad(
                number,
                "levels",
                Message(
                    N_("unknown level {level!r}; use {choices}"),
                    level=echo(unknown[0]),
                    choices=", ".join(SchoolLevel),
                ),
            )
        try:
            active = parse_bool(row.get("active", ""), True)
        except ValueError as exc:
            bad(number, "active", str(exc))
            active = True
        enrolment = _enrolment(number, row, bad)
        if not errors:
            schools.append(
                {
                    "code": code,
                    "name": row["name"],
                    "province_code": province,
                    "commune_code": commune,
                    "levels": sorted(set(levels)),
                    "former_district": row.get("former_district") or None,
                    "address": row.get("address") or None,
                    "active": active,
                }
            )
            if enrolment is not None:
                enrolments.append((len(schools) - 1, enrolment))
        found.add(errors)
    return schools, enrolments, found


def _enrolment(
    number: int, row: dict[str, str], bad: Callable[..., None]
) -> dict[str, object] | None:
    year = row.get("school_year", "")
    total_text = row.get("students_total", "")
    if not year and not total_text:
        return None
    if not year:
        bad(number, "school_year", N_("required when students_total is given"))
        return None
    parts = year.split("-")
    if (
        len(parts) != 2
        or not all(p.isdigit() and len(p) == 4 for p in parts)
        or (int(parts[1]) != int(parts[0]) + 1)
    ):
        bad(number, "school_year", N_("use the form 2025-2026"))
        return None
    try:
        total = parse_int(total_text)
        priority = parse_int(row.get("priority_students") or "0")
    except ValueError as exc:
        bad(number, "students_total", str(exc))
        return None
    if total < 0:
        bad(number, "students_total", N_("must not be negative"))
        return None
    if priority < 0:
        bad(number, "priority_students", N_("must not be negative"))
        return None
    if priority > total:
        bad(number, "priority_students", N_("more than students_total"))
        return None
    return {"school_year": year, "students_total": total, "priority_students": priority}

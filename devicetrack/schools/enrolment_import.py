"""All-or-nothing import of enrolments for schools already in the registry, from CSV or
XLSX: one row per school and school year (mã trường, năm học, số học sinh, học sinh ưu
tiên). A year a row leaves empty is the one chosen with the upload. Every row is checked
before anything is written; a school the caller does not see is reported exactly like one
that does not exist. Then every enrolment is written (or replaced) with one statement."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import ensure_administers
from devicetrack.common.tabular import ROWS_WRONG, UploadLimits, parse_table
from devicetrack.common.workers import off_loop, release
from devicetrack.errors import FieldError, RowErrors, ValidationFailed, echo
from devicetrack.i18n import N_, Message
from devicetrack.schools import repository as repo
from devicetrack.schools.importer import ALIASES as SCHOOL_ALIASES
from devicetrack.schools.importer import enrolment_of_row
from devicetrack.schools.repository import visible_schools
from devicetrack.schools.schemas import EnrolmentImportResult

COLUMNS = {"code", "school_year", "students_total", "priority_students"}
# The school import's names for these columns (Vietnamese and English), and nothing else.
ALIASES = {header: column for header, column in SCHOOL_ALIASES.items() if column in COLUMNS}
REQUIRED = {"code", "students_total"}


async def import_enrolments(
    session: AsyncSession,
    principal: Principal,
    data: bytes,
    filename: str | None,
    limits: UploadLimits,
    *,
    school_year: str | None = None,
) -> EnrolmentImportResult:
    ensure_administers(principal, N_("Only province officers and admins import enrolments."))
    table = await parse_table(data, filename, ALIASES, REQUIRED, limits)
    if not table.rows:
        raise ValidationFailed(
            N_("The file has no data rows."), errors=[FieldError(row=2, message=N_("no rows"))]
        )
    codes = sorted({r["code"] for _, r in table.rows if r.get("code")})
    schools = await repo.schools_by_code(session, codes, [visible_schools(principal)])
    ids = {code: s.id for code, s in schools.items() if s.id is not None}
    rows, errors = await off_loop(_checked_rows, table.rows, ids, school_year)
    await table.rows.release()
    try:
        if errors:
            raise ValidationFailed(
                ROWS_WRONG,
                errors=errors.listed,
                not_listed=errors.not_listed,
                n=errors.wrong_rows(),
            )
        await repo.upsert_enrolments(session, rows)
        school_ids = sorted({int(str(r["school_id"])) for r in rows})
        return EnrolmentImportResult(enrolments=len(rows), school_ids=school_ids)
    finally:
        await release(rows)


def _checked_rows(
    table_rows: Sequence[tuple[int, dict[str, str]]],
    ids: dict[str, int],
    school_year: str | None,
) -> tuple[list[dict[str, object]], RowErrors]:
    found = RowErrors()
    rows: list[dict[str, object]] = []
    seen: dict[tuple[str, str], int] = {}

    def bad(row_number: int, field: str, message: str) -> None:
        errors.append(FieldError(row=row_number, field=field, message=message))

    for number, row in table_rows:
        errors: list[FieldError] = []  # this row's
        code = row.get("code", "")
        school_id = ids.get(code)
        if not code:
            bad(number, "code", N_("required"))
        elif school_id is None:
            bad(number, "code", Message(N_("no school {code}"), code=echo(code)))
        if not row.get("school_year") and school_year:
            row = {**row, "school_year": school_year}
        if not row.get("students_total"):
            bad(number, "students_total", N_("required"))
        enrolment = enrolment_of_row(number, row, bad) if row.get("students_total") else None
        if enrolment is not None and code:
            key = (code, str(enrolment["school_year"]))
            if key in seen:
                bad(
                    number,
                    "code",
                    Message(N_("duplicate of row {row} in this file"), row=seen[key]),
                )
            else:
                seen[key] = number
        if not errors and enrolment is not None and school_id is not None:
            rows.append({"school_id": school_id, **enrolment})
        found.add(errors)
    return rows, found

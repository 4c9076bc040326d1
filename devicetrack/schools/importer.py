"""All-or-nothing import of schools with their enrolments from CSV or XLSX.

Every row is checked before anything is written, and every bad row is reported at once;
then the schools go in with one multi-row INSERT and the enrolments with another, inside
the request's single transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.convert import into, read_rows
from devicetrack.common.tabular import ROWS_WRONG, UploadLimits, parse_bool, parse_int, parse_table
from devicetrack.common.workers import off_loop, release
from devicetrack.errors import FieldError, Forbidden, RowErrors, ValidationFailed, echo
from devicetrack.i18n import N_, Message
from devicetrack.regions import repository as regions
from devicetrack.schools import repository as repo
from devicetrack.schools import words
from devicetrack.schools.schemas import (
    EnrolmentImportResult,
    EnrolmentWrite,
    ImportResult,
    SchoolCreate,
)

# The columns of a school's row: SchoolCreate's fields, then its enrolment's.
SCHOOL_COLUMNS = tuple(f.name for f in msgspec.structs.fields(SchoolCreate))
ENROLMENT_COLUMNS = tuple(f.name for f in msgspec.structs.fields(EnrolmentWrite))
# Header aliases: each column's name, its headings and other spellings.
ALIASES: dict[str, str] = {c: c for c in (*SCHOOL_COLUMNS, *ENROLMENT_COLUMNS)} | {
    word: column
    for column, headings in (words.HEADINGS | words.ENROLMENT_HEADINGS).items()
    for word in (*headings, *words.SYNONYMS.get(column, ()))
}
# The enrolments import: a school by its code, and its enrolment.
ENROLMENT_ALIASES: dict[str, str] = {
    word: ("school_code" if column == "code" else column)
    for word, column in ALIASES.items()
    if column in ("code", *ENROLMENT_COLUMNS)
} | {"school_code": "school_code"}
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


# The columns of a row that describe the school (SchoolCreate); the rest are its enrolment.
_SCHOOL_COLUMNS = frozenset(f.name for f in msgspec.structs.fields(SchoolCreate))


def _read(number: int, row: dict[str, object]) -> tuple[dict[str, object], list[FieldError]]:
    """A row's non-empty cells as a SchoolCreate reads them: codes with the leading zeros
    a spreadsheet dropped, levels split, yes/no read; the enrolment's cells are left to
    `_enrolment`. What cannot be read is an error of the row."""
    cells: dict[str, object] = {}
    errors: list[FieldError] = []
    for column, value in row.items():
        if column not in _SCHOOL_COLUMNS:
            continue
        if not isinstance(value, str):
            cells[column] = value
        elif column == "commune_code":
            cells[column] = value.zfill(5)
        elif column == "province_code":
            cells[column] = value.zfill(2)
        elif column == "levels":
            levels = [(item, words.LEVELS.read(item)) for item in words.LEVELS.split(value)]
            if unknown := [item for item, level in levels if level is None]:
                codes = ", ".join(words.LEVELS.codes)
                message = Message(
                    N_("unknown level {level!r}; use {choices}"),
                    level=echo(unknown[0]),
                    choices=codes,
                )
                errors.append(FieldError(row=number, field=column, message=message))
                continue
            cells[column] = sorted({level for _, level in levels if level is not None})
        elif column == "active":
            try:
                cells[column] = parse_bool(value, True)
            except ValueError as exc:
                errors.append(FieldError(row=number, field=column, message=str(exc)))
        else:
            cells[column] = value
    return cells, errors


def _checked_rows(
    table_rows: Sequence[tuple[int, dict[str, str]]],
    communes: dict[str, str],
    taken: set[str],
    principal: Principal,
) -> tuple[list[dict[str, object]], list[tuple[int, dict[str, object]]], RowErrors]:
    """The schools to insert, their enrolments (by index into the schools), and the errors
    (the first MAX_LISTED_ERRORS listed, the rest counted). Each row is read and converted
    into the API's SchoolCreate and EnrolmentWrite (their types and limits), then checked
    against its commune, the file and the registry."""
    found = RowErrors()
    schools: list[dict[str, object]] = []
    enrolments: list[tuple[int, dict[str, object]]] = []
    seen_codes: dict[str, int] = {}
    read = read_rows(table_rows, _read, SchoolCreate)
    for (number, school, errors), (_, row) in zip(read, table_rows, strict=True):

        def bad(
            field: str, message: str, number: int = number, errors: list[FieldError] = errors
        ) -> None:
            errors.append(FieldError(row=number, field=field, message=message))

        failed = {e.field for e in errors}
        province = None
        if school is not None and "code" not in failed:
            if school.code in seen_codes:
                bad(
                    "code",
                    Message(N_("duplicate of row {row} in this file"), row=seen_codes[school.code]),
                )
            elif school.code in taken:
                bad("code", N_("a school with this code already exists"))
            else:
                seen_codes[school.code] = number
        if school is not None and "commune_code" not in failed:
            province = communes.get(school.commune_code)
            if province is None:
                bad(
                    "commune_code",
                    Message(N_("unknown commune code {code}"), code=echo(row["commune_code"])),
                )
            else:
                given = school.province_code
                if given and given != province:
                    bad(
                        "province_code",
                        Message(
                            N_("commune {commune} is in province {province}"),
                            commune=school.commune_code,
                            province=province,
                        ),
                    )
                if principal.is_province_officer and province != principal.province_code:
                    bad("commune_code", N_("outside your province"))
        enrolment = _enrolment(number, row, bad)
        if not errors and school is not None:
            schools.append({**msgspec.structs.asdict(school), "province_code": province})
            if enrolment is not None:
                enrolments.append((len(schools) - 1, enrolment))
        found.add(errors)
    return schools, enrolments, found


def _enrolment(
    number: int, row: Mapping[str, str], bad: Callable[[str, str], None]
) -> dict[str, object] | None:
    """The row's enrolment as an EnrolmentWrite (None when the row gives none)."""
    year = row.get("school_year", "")
    total = row.get("students_total", "")
    if not year and not total:
        return None
    if not year:
        bad("school_year", N_("required when students_total is given"))
        return None
    counts: dict[str, object] = {"school_year": year}
    for column in ("students_total", "priority_students"):
        if text := row.get(column, ""):
            try:
                counts[column] = parse_int(text)
            except ValueError as exc:
                bad(column, str(exc))
                return None
    enrolment, errors = into(counts, EnrolmentWrite, row=number)
    for error in errors:
        bad(error.field or "school_year", error.message)
    if enrolment is None or errors:
        return None
    start, end = (int(part) for part in enrolment.school_year.split("-"))
    if end != start + 1:
        bad("school_year", N_("use the form 2025-2026"))
        return None
    if enrolment.priority_students > enrolment.students_total:
        bad("priority_students", N_("more than students_total"))
        return None
    return msgspec.structs.asdict(enrolment)


ENROLMENT_REQUIRED = {"school_code", "school_year", "students_total"}


async def import_enrolments(
    session: AsyncSession,
    principal: Principal,
    data: bytes,
    filename: str | None,
    limits: UploadLimits,
) -> EnrolmentImportResult:
    """All-or-nothing: each row names a school by its code and gives one school year's
    enrolment, added or replacing the one stored. Who may change a school's enrolment may
    import it: admins, the province's officers, the school's staff."""
    if principal.is_donor:
        raise Forbidden(N_("Your role cannot change enrolments."))
    table = await parse_table(data, filename, ENROLMENT_ALIASES, ENROLMENT_REQUIRED, limits)
    if not table.rows:
        raise ValidationFailed(
            N_("The file has no data rows."), errors=[FieldError(row=2, message=N_("no rows"))]
        )
    schools = await repo.schools_by_code(
        session, principal, sorted({r["school_code"] for _, r in table.rows if r["school_code"]})
    )
    rows, errors = await off_loop(_checked_enrolments, table.rows, schools)
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
        stored = len(rows)
    finally:
        await release(rows)
    return EnrolmentImportResult(enrolments=stored)


def _checked_enrolments(
    table_rows: Sequence[tuple[int, dict[str, str]]],
    schools: dict[str, tuple[int, str]],
) -> tuple[list[dict[str, object]], RowErrors]:
    """The enrolments to store, and the errors of every row."""
    found = RowErrors()
    out: list[dict[str, object]] = []
    seen: dict[tuple[int, str], int] = {}
    for number, row in table_rows:
        errors: list[FieldError] = []

        def bad(
            field: str, message: str, number: int = number, errors: list[FieldError] = errors
        ) -> None:
            errors.append(FieldError(row=number, field=field, message=message))

        code = row.get("school_code", "")
        school = schools.get(code)
        if not code:
            bad("school_code", N_("required"))
        elif school is None:  # or one the caller may not see (schools_by_code)
            bad("school_code", N_("no school with this code"))
        enrolment = _enrolment(number, row, bad)
        if school is not None and enrolment is not None:
            key = (school[0], str(enrolment["school_year"]))
            if key in seen:
                bad(
                    "school_year", Message(N_("duplicate of row {row} in this file"), row=seen[key])
                )
            seen.setdefault(key, number)
        if errors:
            found.add(errors)
        elif school is not None and enrolment is not None:
            out.append({"school_id": school[0], **enrolment})
    return out, found

"""All-or-nothing import of a school's students from CSV or XLSX."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.convert import read_rows
from devicetrack.common.tabular import ROWS_WRONG, UploadLimits, parse_int, parse_table
from devicetrack.common.workers import off_loop, release
from devicetrack.devices.identity import normalise_msisdn
from devicetrack.errors import FieldError, RowErrors, ValidationFailed, echo
from devicetrack.i18n import N_, Message
from devicetrack.schools import service as schools
from devicetrack.students import repository as repo
from devicetrack.students import words
from devicetrack.students.schemas import StudentCreate, StudentImportResult
from devicetrack.students.service import ensure_student_reader, ensure_student_writer

# The columns: StudentCreate's fields but the school (the import is for one school).
COLUMNS = tuple(f.name for f in msgspec.structs.fields(StudentCreate) if f.name != "school_id")
# Header aliases: each column's name, its headings (the pages' labels) and other spellings.
ALIASES: dict[str, str] = {c: c for c in COLUMNS} | {
    word: column
    for column in COLUMNS
    for word in (*words.HEADINGS[column], *words.SYNONYMS.get(column, ()))
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
    students, errors = await off_loop(_checked_rows, table.rows, taken, school_id)
    await table.rows.release()
    try:
        if errors:
            raise ValidationFailed(
                ROWS_WRONG,
                errors=errors.listed,
                not_listed=errors.not_listed,
                n=errors.wrong_rows(),
            )
        ids = await repo.insert_students(session, students)
    finally:
        await release(students)
    return StudentImportResult(created=len(ids), student_ids=ids)


def _read(number: int, row: dict[str, object]) -> tuple[dict[str, object], list[FieldError]]:
    """A row's non-empty cells as a StudentCreate reads them: flags split, whole numbers
    read with their spaces. What cannot be read is an error of the row (and left out, so
    it is not reported twice)."""
    errors: list[FieldError] = []
    cells: dict[str, object] = {}
    for column, value in row.items():
        if not isinstance(value, str):
            cells[column] = value
        elif column == "priority":
            flags = [(item, words.PRIORITIES.read(item)) for item in words.PRIORITIES.split(value)]
            if unknown := [item for item, flag in flags if flag is None]:
                codes = ", ".join(words.PRIORITIES.codes)
                message = Message(
                    N_("unknown flag {flag!r}; use {choices}"), flag=echo(unknown[0]), choices=codes
                )
                errors.append(FieldError(row=number, field=column, message=message))
                continue
            cells[column] = sorted({flag for _, flag in flags if flag is not None})
        elif column == "status":
            if (status := words.STATUSES.read(value)) is None:
                message = Message(
                    N_("use one of {choices}"), choices=", ".join(words.STATUSES.codes)
                )
                errors.append(FieldError(row=number, field=column, message=message))
            else:
                cells[column] = status
        elif column in ("grade", "birth_year"):
            try:
                cells[column] = parse_int(value)
            except ValueError as exc:
                errors.append(FieldError(row=number, field=column, message=str(exc)))
        else:
            cells[column] = value
    return cells, errors


def _checked_rows(
    table_rows: Sequence[tuple[int, dict[str, str]]], taken: set[str], school_id: int
) -> tuple[list[dict[str, object]], RowErrors]:
    """The students to insert, and the errors of every row (the first MAX_LISTED_ERRORS
    listed, the rest counted). Each row is read, converted into the API's StudentCreate
    (its types and limits), then checked against the file and the school."""
    found = RowErrors()
    students: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    school = {"school_id": school_id}
    for number, item, errors in read_rows(table_rows, _read, StudentCreate, school):
        if item is not None and "student_code" not in {e.field for e in errors}:
            code = item.student_code
            if code in seen:
                errors.append(
                    FieldError(
                        row=number,
                        field="student_code",
                        message=Message(N_("duplicate of row {row} in this file"), row=seen[code]),
                    )
                )
            elif code in taken:
                errors.append(
                    FieldError(
                        row=number,
                        field="student_code",
                        message=N_("a student with this code exists at this school"),
                    )
                )
            else:
                seen[code] = number
        if item is not None and item.guardian_phone is not None:
            phone, problem = normalise_msisdn(item.guardian_phone)
            if problem:
                errors.append(FieldError(row=number, field="guardian_phone", message=problem))
            item.guardian_phone = phone
        if errors or item is None:
            found.add(errors)
            continue
        students.append(msgspec.structs.asdict(item))
    return students, found

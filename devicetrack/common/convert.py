"""Loose values (an import's cells, a page form's fields) converted into the API's body
Structs, so that the Struct's types and limits are the one rule every door applies: a value
the API refuses is refused by an import row and by a page form in the same words, naming
the same field (errors.field_error_of words it).

msgspec stops at the first wrong value; a row or a form should list all of its wrong
fields, so a refused conversion is repeated field by field to find every one."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

from devicetrack.errors import FieldError, field_error_of
from devicetrack.i18n import N_

S = TypeVar("S", bound=msgspec.Struct)

# Rows converted by one call: a slice fails as a whole at its first wrong row, and only
# then are its rows converted one by one.
CHUNK = 1000


def into(
    values: Mapping[str, Any], kind: type[S], *, row: int | None = None
) -> tuple[S | None, list[FieldError]]:
    """`values` as a `kind` (strings read as numbers, dates and enum members where the
    field wants one) and no errors; or every field's error, with the rest of `values` as a
    `kind` when that can still be made (so a caller's further checks of the row can run
    and list their errors too), else None."""
    try:
        return msgspec.convert(values, kind, strict=False), []
    except msgspec.ValidationError as exc:
        errors = every_error(values, kind, exc, row)
    wrong = {e.field for e in errors}
    try:
        rest = msgspec.convert(
            {k: v for k, v in values.items() if k not in wrong}, kind, strict=False
        )
    except msgspec.ValidationError:
        return None, errors
    return rest, errors


def every_error(
    values: Mapping[str, Any],
    kind: type[msgspec.Struct],
    first: msgspec.ValidationError,
    row: int | None,
) -> list[FieldError]:
    """Each field of `values` converted on its own against its type in `kind`, and each
    required field that is missing; `first` (msgspec's own refusal) when no single field
    is wrong (a rule across fields)."""
    fields = {f.name: f for f in msgspec.structs.fields(kind)}
    errors: list[FieldError] = []
    for name, value in values.items():
        info = fields.get(name)
        if info is None:
            if kind.__struct_config__.forbid_unknown_fields:
                errors.append(FieldError(row=row, field=name, message=N_("unknown field")))
            continue
        try:
            msgspec.convert(value, info.type, strict=False)
        except msgspec.ValidationError as exc:
            errors.append(field_error_of(exc, row=row, field=name))
    errors += [
        FieldError(row=row, field=f.name, message=N_("required"))
        for f in fields.values()
        if f.required and f.name not in values
    ]
    return errors or [field_error_of(first, row=row)]


def given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body gives, by name: those not left out (UNSET); None among them
    clears its field."""
    return {
        name: value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


# How an import reads one row's cells (row number, its non-empty cells) into the values its
# Struct takes, with the errors of the cells it could not read (words outside a list, a date
# it cannot make out); those cells are left out of the values.
Reader = Callable[[int, dict[str, Any]], tuple[dict[str, Any], list[FieldError]]]


def read_rows(
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    read: Reader,
    kind: type[S],
    fixed: Mapping[str, Any] | None = None,
) -> Iterator[tuple[int, S | None, list[FieldError]]]:
    """An import's rows converted into `kind`, in order, a slice at a time (only one
    slice's values are held at once). Empty cells are left out. A row whose cells the
    Struct takes as they are (codes, ISO dates: most rows of most files) is not read at
    all; the others are `read` first, and a cell `read` refused is reported once, not again
    as missing from the Struct. `fixed` values are added to every row (the school a
    students import is for)."""
    many = types.GenericAlias(list, (kind,))
    more = dict(fixed or {})
    for start in range(0, len(rows), CHUNK):
        part = [
            (number, {k: v for k, v in row.items() if v is not None and v != ""} | more)
            for number, row in rows[start : start + CHUNK]
        ]
        try:
            items: list[S] = msgspec.convert([cells for _, cells in part], many, strict=False)
        except msgspec.ValidationError:
            pass
        else:
            for (number, _), item in zip(part, items, strict=True):
                yield number, item, []
            continue
        for number, cells in part:
            try:
                whole = msgspec.convert(cells, kind, strict=False)
            except msgspec.ValidationError:
                values, unread = read(number, cells)
                found, errors = into(values, kind, row=number)
                if unread:
                    gone = {e.field for e in unread}
                    errors = unread + [e for e in errors if e.field not in gone]
                yield number, found, errors
            else:
                yield number, whole, []

"""Checking intake rows (from JSON, CSV or XLSX), collecting every error.

Each row goes through three steps, whatever its source:
1. its words are read (`_read`): the Vietnamese names of kinds, conditions and carriers the
   pages show, day-first dates, decimal commas; a listed value not in its list is refused
   naming the allowed ones (a spreadsheet's author has no schema to read them from);
2. it is converted into the API's own Struct (`DeviceIntake`, `DeviceUpdateRow`:
   devices/schemas.py), whose types and limits are the one rule the API, the imports and
   the pages apply (common/convert.py);
3. the domain's checks: identity numbers, a SIM's ICCID, duplicates within the file,
   pre-printed tags, dates of real events.
Checks against the database are done in SQL by the intake service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import msgspec

from devicetrack.common.convert import read_rows
from devicetrack.common.dates import out_of_range
from devicetrack.common.words import Words
from devicetrack.devices import words
from devicetrack.devices.identity import check_iccid, check_imei, normalise_msisdn, parse_date
from devicetrack.devices.schemas import DeviceIntake, DeviceUpdateRow
from devicetrack.devices.tags import WRONG_CHECK, parse_tag
from devicetrack.devices.values import DeviceKind
from devicetrack.errors import FieldError, RowErrors, echo
from devicetrack.i18n import N_, Message

R = TypeVar("R", DeviceIntake, DeviceUpdateRow)

# The upload's columns: the Structs' fields, spelled nowhere else.
COLUMNS = tuple(f.name for f in msgspec.structs.fields(DeviceIntake))
UPDATE_COLUMNS = tuple(f.name for f in msgspec.structs.fields(DeviceUpdateRow))
# Header aliases: each column's name, its headings (the pages' labels) and other spellings.
ALIASES: dict[str, str] = {c: c for c in COLUMNS} | {
    word: column
    for column in COLUMNS
    for word in (*words.HEADINGS[column], *words.SYNONYMS.get(column, ()))
}
# A listed column: its words, and how a refusal names it (it lists the codes).
_LISTED: dict[str, tuple[Words[Any], str]] = {
    "kind": (words.KINDS, N_("unknown kind {kind!r}; use one of {choices}")),
    "condition": (words.CONDITIONS, N_("unknown condition; use one of {choices}")),
    "carrier": (words.CARRIERS, N_("unknown carrier; use one of {choices}")),
    "activation_lock": (
        words.ACTIVATION_LOCKS,
        N_("unknown activation lock; use one of {choices}"),
    ),
}
# A used device's numbers as staff write them ("64 GB", "85%", "1,5"): the unit a cell may
# end with, and what a cell that is no such number is told.
_NUMBERS: dict[str, tuple[str, str]] = {
    "storage_gb": ("gb", N_("must be a whole number from 1 to 100000")),
    "ram_gb": ("gb", N_("must be a number of GB")),
    "battery_health_pct": ("%", N_("must be a whole number from 0 to 100")),
}
_NUMBER = re.compile(r"\d+(\.\d+)?")
# Row messages several checks give.
DUPLICATE_ROW = N_("duplicate of row {row} in this file")
_DATES = ("plan_expires_on", "warranty_until")


@dataclass
class CheckedRows(Generic[R]):
    # The rows that passed, in file order: their numbers and their devices, as two flat
    # lists (a tuple per row would be 100,000 more objects for the garbage collector to
    # walk; the Structs themselves are not tracked).
    numbers: list[int] = field(default_factory=list)
    items: list[R] = field(default_factory=list)
    # The first MAX_LISTED_ERRORS errors, the rest counted (every row is checked).
    errors: RowErrors = field(default_factory=RowErrors)
    warnings: list[FieldError] = field(default_factory=list)
    bound_tags: dict[str, int] = field(default_factory=dict)  # given tag -> row


def _read(number: int, cells: dict[str, object]) -> tuple[dict[str, object], list[FieldError]]:
    """A row's non-empty cells as values its Struct reads: listed words, dates and quotas
    read as people write them. What cannot be read is an error of the row and left out."""
    errors: list[FieldError] = []
    for column, (listed, refusal) in _LISTED.items():
        value = cells.get(column)
        if not isinstance(value, str):
            continue
        member = listed.read(value)
        if member is None:
            message = Message(refusal, kind=echo(value.lower()), choices=", ".join(listed.codes))
            errors.append(FieldError(row=number, field=column, message=message))
            del cells[column]
        else:
            cells[column] = member
    for column in _DATES:
        value = cells.get(column)
        if isinstance(value, datetime):
            cells[column] = value.date()
        elif isinstance(value, str):
            try:
                cells[column] = parse_date(value)
            except ValueError as exc:
                errors.append(FieldError(row=number, field=column, message=str(exc)))
                del cells[column]
    quota = cells.get("plan_quota_gb")
    if isinstance(quota, str):
        cells["plan_quota_gb"] = quota.replace(",", ".")
    for column, (unit, refusal) in _NUMBERS.items():
        value = cells.get(column)
        if not isinstance(value, str):
            continue
        text = value.lower().removesuffix(unit).strip().replace(",", ".")
        if _NUMBER.fullmatch(text) and (column == "ram_gb" or "." not in text):
            cells[column] = text  # its Struct reads the number and checks its bounds
        else:
            errors.append(FieldError(row=number, field=column, message=refusal))
            del cells[column]
    return cells, errors


def _event_date(number: int, column: str, day: date | None, errors: list[FieldError]) -> None:
    if day is not None and (problem := out_of_range(day)) is not None:
        errors.append(FieldError(row=number, field=column, message=problem))


# Read once per row below: a StrEnum member looked up on its class costs more than a name.
_SIM, _SMARTPHONE = DeviceKind.SIM, DeviceKind.SMARTPHONE
_NONE: frozenset[str | None] = frozenset()


def check_new_rows(
    rows: Sequence[tuple[int, Mapping[str, object]]], province_code: str
) -> CheckedRows[DeviceIntake]:
    """Check rows for intake: each becomes a DeviceIntake with its identity numbers in
    their stored form, or the errors of its row."""
    check = NewRowsCheck(province_code)
    check.check(rows)
    return check.out


class NewRowsCheck:
    """check_new_rows a part of the file at a time: what the parts so far hold (their
    identities, for duplicates within the file) is kept between calls, so the rows can be
    written part by part while the next part is checked (devices/intake.py)."""

    def __init__(self, province_code: str) -> None:
        self.province_code = province_code
        self.out: CheckedRows[DeviceIntake] = CheckedRows()
        self.seen_imei: dict[str, int] = {}
        self.seen_iccid: dict[str, int] = {}
        self.seen_serial: dict[tuple[str, str], int] = {}

    def check(self, rows: Sequence[tuple[int, Mapping[str, object]]]) -> int:
        """Check `rows` (the next part of the file), adding to `out`; return how many of
        them passed (the last ones of `out.items`). (The loop runs for each device of a
        100,000-row upload, so it reads attributes once and builds nothing it does not
        need.)"""
        out, province_code = self.out, self.province_code
        seen_imei, seen_iccid, seen_serial = self.seen_imei, self.seen_iccid, self.seen_serial
        before = len(out.items)
        number, errors = 0, []

        def bad(column: str, message: str) -> None:
            # The row being checked: `number` and `errors` are the loop's current ones.
            errors.append(FieldError(row=number, field=column, message=message))

        for number, item, errors in read_rows(rows, _read, DeviceIntake):
            if item is None:
                out.errors.add(errors)
                continue
            kind, imei, iccid, serial = item.kind, item.imei, item.iccid, item.serial
            if imei is not None:
                imei, problem = check_imei(imei)
                if problem:
                    bad("imei", problem)
                elif imei in seen_imei:
                    bad("imei", Message(DUPLICATE_ROW, row=seen_imei[imei]))
                elif imei is not None:  # always, when there is no problem
                    seen_imei[imei] = number
                    item.imei = imei
            if iccid is not None:
                iccid, problem, warning = check_iccid(iccid)
                if problem:
                    bad("iccid", problem)
                elif iccid in seen_iccid:
                    bad("iccid", Message(DUPLICATE_ROW, row=seen_iccid[iccid]))
                elif iccid is not None:  # always, when there is no problem
                    seen_iccid[iccid] = number
                    item.iccid = iccid
                if warning:
                    out.warnings.append(FieldError(row=number, field="iccid", message=warning))
            if serial is not None:
                key = ((item.make or "").lower(), serial)
                if key in seen_serial:
                    bad("serial", Message(DUPLICATE_ROW, row=seen_serial[key]))
                else:
                    seen_serial[key] = number
            failed = {e.field for e in errors} if errors else _NONE
            if kind == _SIM and item.iccid is None and "iccid" not in failed:
                bad("iccid", N_("a SIM needs an ICCID"))
            if (
                kind == _SMARTPHONE
                and item.imei is None
                and serial is None
                and "imei" not in failed
            ):
                bad("imei", N_("a smartphone needs an IMEI or a serial"))
            if kind != _SIM and item.iccid is not None and "kind" not in failed:
                bad("iccid", N_("only SIMs have an ICCID (install the SIM in the device instead)"))
            if item.msisdn is not None:
                msisdn, problem = normalise_msisdn(item.msisdn)
                if problem:
                    bad("msisdn", problem)
                item.msisdn = msisdn
            if item.plan_expires_on is not None:
                _event_date(number, "plan_expires_on", item.plan_expires_on, errors)
            if item.warranty_until is not None:
                _event_date(number, "warranty_until", item.warranty_until, errors)
            if item.asset_tag is not None:
                parsed = parse_tag(item.asset_tag)
                if parsed is None:
                    bad("asset_tag", N_("not an asset tag (DTpp-nnnnnn-c)"))
                elif not parsed.check_ok:
                    bad("asset_tag", Message(WRONG_CHECK, tag=parsed.expected))
                elif parsed.province_code != province_code:
                    bad(
                        "asset_tag",
                        Message(N_("tag belongs to province {code}"), code=parsed.province_code),
                    )
                elif parsed.tag in out.bound_tags:
                    bad("asset_tag", Message(DUPLICATE_ROW, row=out.bound_tags[parsed.tag]))
                else:
                    item.asset_tag = parsed.tag
                    out.bound_tags[parsed.tag] = number
            if errors:
                out.errors.add(errors)
            else:
                out.numbers.append(number)
                out.items.append(item)
        return len(out.items) - before


def check_update_rows(
    rows: Sequence[tuple[int, Mapping[str, object]]],
) -> CheckedRows[DeviceUpdateRow]:
    """Rows of an update-import: matched by asset tag; a cell left empty keeps the stored
    value (an update-import does not clear a field: PATCH does)."""
    out: CheckedRows[DeviceUpdateRow] = CheckedRows()
    for number, item, errors in read_rows(rows, _read, DeviceUpdateRow):
        if item is None:
            out.errors.add(errors)
            continue

        def bad(
            column: str, message: str, number: int = number, errors: list[FieldError] = errors
        ) -> None:
            errors.append(FieldError(row=number, field=column, message=message))

        parsed = parse_tag(item.asset_tag)
        if parsed is None:
            bad("asset_tag", N_("required: the tag of the device to update"))
        elif not parsed.check_ok:
            bad("asset_tag", Message(WRONG_CHECK, tag=parsed.expected))
        elif parsed.tag in out.bound_tags:
            bad("asset_tag", Message(DUPLICATE_ROW, row=out.bound_tags[parsed.tag]))
        else:
            item.asset_tag = parsed.tag
            out.bound_tags[parsed.tag] = number
        if isinstance(item.msisdn, str):
            msisdn, problem = normalise_msisdn(item.msisdn)
            if problem:
                bad("msisdn", problem)
            item.msisdn = msisdn
        for column in _DATES:
            day = getattr(item, column)
            _event_date(number, column, day if isinstance(day, date) else None, errors)
        if not errors:
            out.numbers.append(number)
            out.items.append(item)
        out.errors.add(errors)
    return out


def staged_new(number: int, item: DeviceIntake) -> tuple[Any, ...]:
    """A checked device as the staging table's record: its row number, then its fields in
    the Struct's order (the table's columns, devices/intake.py)."""
    return (number, *msgspec.structs.astuple(item))


def staged_update(number: int, item: DeviceUpdateRow) -> tuple[Any, ...]:
    """A checked update as the staging table's record; a field left out is NULL (kept)."""
    return (number, *(None if v is msgspec.UNSET else v for v in msgspec.structs.astuple(item)))

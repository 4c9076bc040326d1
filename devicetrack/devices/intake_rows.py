"""Checking intake rows (from JSON, CSV or XLSX) one by one, collecting every error.

Rows arrive as dicts of strings (or None). The checks here are per row and within the
file (duplicates); checks against the database are done in SQL by the intake service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar, cast

from devicetrack.common.dates import out_of_range
from devicetrack.devices.identity import check_iccid, check_imei, normalise_msisdn, parse_date
from devicetrack.devices.tags import WRONG_CHECK, parse_tag
from devicetrack.devices.values import ActivationLock, Carrier, Condition, DeviceKind
from devicetrack.errors import FieldError, RowErrors, echo
from devicetrack.i18n import N_, Message

T = TypeVar("T")
COLUMNS = (
    "kind",
    "make",
    "model",
    "serial",
    "imei",
    "iccid",
    "msisdn",
    "carrier",
    "plan_name",
    "plan_quota_gb",
    "plan_expires_on",
    "paid_by",
    "condition",
    "asset_tag",
    "note",
    "warranty_until",
    *(FACTS := ("activation_lock", "storage_gb", "ram_gb", "battery_health_pct")),
)
# Header aliases: English variants and the Vietnamese headers staff use in spreadsheets.
ALIASES: dict[str, str] = {c: c for c in COLUMNS} | {
    "loại": "kind",
    "loai": "kind",
    "loại_thiết_bị": "kind",
    "type": "kind",
    "hãng": "make",
    "hang": "make",
    "manufacturer": "make",
    "brand": "make",
    "mẫu": "model",
    "model_name": "model",
    "dòng_máy": "model",
    "serial_number": "serial",
    "số_serial": "serial",
    "số_sê_ri": "serial",
    "số_seri": "serial",
    "sê_ri": "serial",
    "seri": "serial",
    "so_serial": "serial",
    "sn": "serial",
    "số_imei": "imei",
    "số_iccid": "iccid",
    "phone": "msisdn",
    "số_điện_thoại": "msisdn",
    "so_dien_thoai": "msisdn",
    "sđt": "msisdn",
    "nhà_mạng": "carrier",
    "nha_mang": "carrier",
    "gói_cước": "plan_name",
    "goi_cuoc": "plan_name",
    "plan": "plan_name",
    "quota_gb": "plan_quota_gb",
    "dung_lượng_gb": "plan_quota_gb",
    "hết_hạn_gói": "plan_expires_on",
    "plan_expires": "plan_expires_on",
    "trả_bởi": "paid_by",
    "tình_trạng": "condition",
    "tinh_trang": "condition",
    "mã_tài_sản": "asset_tag",
    "ma_tai_san": "asset_tag",
    "tag": "asset_tag",
    "ghi_chú": "note",
    "ghi_chu": "note",
    "notes": "note",
    "bảo_hành_đến": "warranty_until",
    "warranty": "warranty_until",
    # Intake facts of used devices.
    "khóa_kích_hoạt": "activation_lock",
    "khoa_kich_hoat": "activation_lock",
    "khóa_tài_khoản": "activation_lock",
    "khoa_tai_khoan": "activation_lock",
    "activation": "activation_lock",
    "lock": "activation_lock",
    "bộ_nhớ_trong_gb": "storage_gb",
    "bo_nho_trong_gb": "storage_gb",
    "bộ_nhớ_gb": "storage_gb",
    "bo_nho_gb": "storage_gb",
    "bộ_nhớ": "storage_gb",
    "rom_gb": "storage_gb",
    "storage": "storage_gb",
    "ram": "ram_gb",
    "ram_(gb)": "ram_gb",
    "pin_%": "battery_health_pct",
    "pin": "battery_health_pct",
    "tình_trạng_pin": "battery_health_pct",
    "tinh_trang_pin": "battery_health_pct",
    "tình_trạng_pin_%": "battery_health_pct",
    "dung_lượng_pin_%": "battery_health_pct",
    "battery": "battery_health_pct",
    "battery_health": "battery_health_pct",
    "battery_%": "battery_health_pct",
}
UPDATE_COLUMNS = (
    "asset_tag",
    "model",
    "serial",
    "condition",
    "note",
    "msisdn",
    "carrier",
    "plan_name",
    "plan_quota_gb",
    "plan_expires_on",
    "paid_by",
    "warranty_until",
    *FACTS,
)
_KINDS = frozenset(DeviceKind)
_CONDITIONS = frozenset(Condition)
_CARRIERS = frozenset(Carrier)
# Kinds and conditions as Vietnamese staff write them (the words the pages show), with and
# without diacritics.
_KIND_ALIASES = {
    "máy tính xách tay": "laptop",
    "may tinh xach tay": "laptop",
    "máy tính để bàn": "desktop",
    "may tinh de ban": "desktop",
    "máy tính bảng": "tablet",
    "may tinh bang": "tablet",
    "điện thoại": "smartphone",
    "dien thoai": "smartphone",
    "điện thoại thông minh": "smartphone",
    "dien thoai thong minh": "smartphone",
    "thẻ sim": "sim",
    "the sim": "sim",
    "bộ phát wi-fi": "router",
    "bo phat wi-fi": "router",
    "bộ phát wifi": "router",
    "bo phat wifi": "router",
    "khác": "other",
    "khac": "other",
}
_CONDITION_ALIASES = {
    "mới": "new",
    "moi": "new",
    "tốt": "good",
    "tot": "good",
    "khá": "fair",
    "kha": "fair",
    "trung bình": "fair",
    "trung binh": "fair",
    "kém": "poor",
    "kem": "poor",
    "hỏng": "broken",
    "hong": "broken",
}
# Activation locks as staff write them, with and without diacritics.
_LOCK_ALIASES = {
    "chưa rõ": "unknown",
    "chua ro": "unknown",
    "không rõ": "unknown",
    "khong ro": "unknown",
    "không khóa": "clear",
    "khong khoa": "clear",
    "đã gỡ": "clear",
    "da go": "clear",
    "no": "clear",
    "none": "clear",
    "icloud": "locked_icloud",
    "khóa icloud": "locked_icloud",
    "khoa icloud": "locked_icloud",
    "frp": "locked_google_frp",
    "google": "locked_google_frp",
    "google frp": "locked_google_frp",
    "khóa google": "locked_google_frp",
    "khoa google": "locked_google_frp",
    "mdm": "locked_mdm",
    "khóa mdm": "locked_mdm",
    "khoa mdm": "locked_mdm",
}
_LOCKS = frozenset(ActivationLock)
_LOCK_NAMES = tuple(ActivationLock)
# Vietnamese carrier names as people write them.
_CARRIER_ALIASES = {
    "vina": "vinaphone",
    "vnpt": "vinaphone",
    "mobi": "mobifone",
    "mobiphone": "mobifone",
    "vietel": "viettel",
}


@dataclass
class CheckedRows:
    records: list[tuple[Any, ...]] = field(default_factory=list)  # staging rows, file order
    # The first MAX_LISTED_ERRORS errors, the rest counted (every row is checked).
    errors: RowErrors = field(default_factory=RowErrors)
    warnings: list[FieldError] = field(default_factory=list)
    bound_tags: dict[str, int] = field(default_factory=dict)  # pre-printed tag -> row


def _cell(row: Mapping[str, object], column: str) -> str | None:
    return _text(row.get(column))


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# Row messages several checks give.
DUPLICATE_ROW = N_("duplicate of row {row} in this file")
UNKNOWN_CARRIER = N_("unknown carrier; use one of {choices}")
UNKNOWN_CONDITION = N_("unknown condition; use one of {choices}")


def _quota(value: str) -> Decimal:
    try:
        quota = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise ValueError(N_("must be a number of GB")) from None
    if not quota.is_finite():  # "NaN", "Infinity": Decimal accepts them, comparisons raise
        raise ValueError(N_("must be a number of GB"))
    if quota < 0 or quota >= 1_000_000:
        raise ValueError(N_("must be between 0 and 999999"))
    return quota


def _whole(value: str, low: int, high: int, unit: str) -> int:
    """A whole number written as staff write it ("64", "64 GB", "85%")."""
    text = value.strip().lower().removesuffix(unit).strip()
    try:
        number = int(text)
    except ValueError:
        raise ValueError(
            Message(N_("must be a whole number from {low} to {high}"), low=low, high=high)
        ) from None
    if not low <= number <= high:
        raise ValueError(Message(N_("must be between {low} and {high}"), low=low, high=high))
    return number


def _ram(value: str) -> Decimal:
    text = value.strip().lower().removesuffix("gb").strip().replace(",", ".")
    try:
        ram = Decimal(text)
    except InvalidOperation:
        raise ValueError(N_("must be a number of GB")) from None
    if not ram.is_finite() or not 0 < ram <= 10_000:
        raise ValueError(N_("must be more than 0 and at most 10000"))
    return ram.quantize(Decimal("0.1"))


def _number(
    get: Callable[[str], str | None],
    bad: Callable[[str, str], None],
    column: str,
    read: Callable[[str], T],
) -> T | None:
    if not (raw := get(column)):
        return None
    try:
        return read(raw)
    except ValueError as exc:
        bad(column, exc.args[0])  # the message, with its values
        return None


def check_facts(
    get: Callable[[str], str | None], bad: Callable[[str, str], None], default_lock: str | None
) -> tuple[str | None, int | None, Decimal | None, int | None]:
    """A used device's intake facts: (activation_lock, storage_gb, ram_gb,
    battery_health_pct); an empty lock cell is `default_lock` (unknown at intake, the
    stored value in an update)."""
    lock = default_lock
    if raw := get("activation_lock"):
        lock = _LOCK_ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if lock not in _LOCKS:
            bad(
                "activation_lock",
                Message(
                    N_("unknown activation lock; use one of {choices}"),
                    choices=", ".join(_LOCK_NAMES),
                ),
            )
    return (
        lock,
        _number(get, bad, "storage_gb", lambda v: _whole(v, 1, 100_000, "gb")),
        _number(get, bad, "ram_gb", _ram),
        _number(get, bad, "battery_health_pct", lambda v: _whole(v, 0, 100, "%")),
    )


def check_new_rows(
    rows: Sequence[tuple[int, dict[str, object]]], province_code: str
) -> CheckedRows:
    """Check rows for intake. Each record is (rownum, asset_tag, kind, make, model, serial,
    imei, iccid, msisdn, carrier, plan_name, plan_quota_gb, plan_expires_on, paid_by,
    condition, note, warranty_until, activation_lock, storage_gb, ram_gb,
    battery_health_pct).

    Cells are trimmed strings (as `common.tabular` and the JSON reader give them); an empty
    or missing cell is no value. Read with `get(column) or None`, not a helper per cell:
    this loop runs once per device of a 100,000-row upload."""
    out = CheckedRows()
    seen_imei: dict[str, int] = {}
    seen_iccid: dict[str, int] = {}
    seen_serial: dict[tuple[str, str], int] = {}
    for number, row in rows:
        errors: list[FieldError] = []  # this row's
        # Cells are text here (tabular and the JSON reader give strings); the one kind of
        # value that is not, a date from an XLSX cell, is read by _date alone.
        get = cast("Callable[[str], str | None]", row.get)

        def bad(
            column: str, message: str, number: int = number, errors: list[FieldError] = errors
        ) -> None:
            errors.append(FieldError(row=number, field=column, message=message))

        kind = (get("kind") or "").lower()
        kind = _KIND_ALIASES.get(kind, kind)
        if not kind:
            bad("kind", N_("required"))
        elif kind not in _KINDS:
            bad(
                "kind",
                Message(
                    N_("unknown kind {kind!r}; use one of {choices}"),
                    kind=echo(kind),
                    choices=", ".join(sorted(_KINDS)),
                ),
            )
        make = get("make") or None
        serial = get("serial") or None
        imei = None
        if raw := get("imei"):
            imei, problem = check_imei(raw)
            if problem:
                bad("imei", problem)
            elif imei in seen_imei:
                bad("imei", Message(DUPLICATE_ROW, row=seen_imei[imei]))
            elif imei is not None:  # always, when there is no problem
                seen_imei[imei] = number
        iccid = msisdn = carrier = None
        if raw := get("iccid"):
            iccid, problem, warning = check_iccid(raw)
            if problem:
                bad("iccid", problem)
            elif iccid in seen_iccid:
                bad("iccid", Message(DUPLICATE_ROW, row=seen_iccid[iccid]))
            elif iccid is not None:  # always, when there is no problem
                seen_iccid[iccid] = number
            if warning:
                out.warnings.append(FieldError(row=number, field="iccid", message=warning))
        if serial is not None:
            key = ((make or "").lower(), serial)
            if key in seen_serial:
                bad("serial", Message(DUPLICATE_ROW, row=seen_serial[key]))
            else:
                seen_serial[key] = number
        if kind == "sim" and iccid is None and "iccid" not in {e.field for e in errors}:
            bad("iccid", N_("a SIM needs an ICCID"))
        if (
            kind == "smartphone"
            and imei is None
            and serial is None
            and not any(e.field == "imei" for e in errors)
        ):
            bad("imei", N_("a smartphone needs an IMEI or a serial"))
        if kind and kind != "sim" and iccid is not None:
            bad("iccid", N_("only SIMs have an ICCID (install the SIM in the device instead)"))
        if raw := get("msisdn"):
            msisdn, problem = normalise_msisdn(raw)
            if problem:
                bad("msisdn", problem)
        if raw := get("carrier"):
            carrier = _CARRIER_ALIASES.get(raw.lower(), raw.lower())
            if carrier not in _CARRIERS:
                bad("carrier", Message(UNKNOWN_CARRIER, choices=", ".join(Carrier)))
        quota = expires = warranty = None
        if raw := get("plan_quota_gb"):
            try:
                quota = _quota(raw)
            except ValueError as exc:
                bad("plan_quota_gb", str(exc))
        expires = _date(row, "plan_expires_on", bad)
        warranty = _date(row, "warranty_until", bad)
        condition = (get("condition") or "new").lower()
        condition = _CONDITION_ALIASES.get(condition, condition)
        if condition not in _CONDITIONS:
            bad("condition", Message(UNKNOWN_CONDITION, choices=", ".join(Condition)))
        tag = None
        if raw := get("asset_tag"):
            parsed = parse_tag(raw)
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
                tag = parsed.tag
                out.bound_tags[tag] = number
        facts = check_facts(get, bad, ActivationLock.UNKNOWN.value)
        if not errors:
            out.records.append(
                (
                    number,
                    tag,
                    kind,
                    make,
                    get("model") or None,
                    serial,
                    imei,
                    iccid,
                    msisdn,
                    carrier,
                    get("plan_name") or None,
                    quota,
                    expires,
                    get("paid_by") or None,
                    condition,
                    get("note") or None,
                    warranty,
                    *facts,
                )
            )
        out.errors.add(errors)
    return out


def _date(row: Mapping[str, object], column: str, bad: Any) -> date | None:
    raw = row.get(column)
    if raw is None or raw == "":
        return None
    try:
        day = raw if isinstance(raw, date) else parse_date(str(raw))
    except ValueError as exc:
        bad(column, str(exc))
        return None
    if (problem := out_of_range(day)) is not None:
        bad(column, problem)
        return None
    return day


def check_update_rows(
    rows: Sequence[tuple[int, dict[str, object]]],
) -> CheckedRows:
    """Rows of an update-import: matched by asset tag; empty cells keep the stored value.
    Record: (rownum, asset_tag, model, serial, condition, note, msisdn, carrier, plan_name,
    plan_quota_gb, plan_expires_on, paid_by, warranty_until, activation_lock, storage_gb,
    ram_gb, battery_health_pct)."""
    out = CheckedRows()
    for number, row in rows:
        errors: list[FieldError] = []  # this row's

        def bad(
            column: str, message: str, number: int = number, errors: list[FieldError] = errors
        ) -> None:
            errors.append(FieldError(row=number, field=column, message=message))

        extra = [c for c, v in row.items() if c not in UPDATE_COLUMNS and _text(v) is not None]
        for column in extra:
            bad(column, N_("cannot be changed by an update-import"))
        tag = None
        parsed = parse_tag(_text(row.get("asset_tag")) or "")
        if parsed is None:
            bad("asset_tag", N_("required: the tag of the device to update"))
        elif not parsed.check_ok:
            bad("asset_tag", Message(WRONG_CHECK, tag=parsed.expected))
        elif parsed.tag in out.bound_tags:
            bad("asset_tag", Message(DUPLICATE_ROW, row=out.bound_tags[parsed.tag]))
        else:
            tag = parsed.tag
            out.bound_tags[tag] = number
        condition = _text(row.get("condition"))
        if condition is not None:
            condition = _CONDITION_ALIASES.get(condition.lower(), condition.lower())
        if condition is not None and condition not in _CONDITIONS:
            bad("condition", Message(UNKNOWN_CONDITION, choices=", ".join(Condition)))
        msisdn = carrier = quota = None
        if (raw := _text(row.get("msisdn"))) is not None:
            msisdn, problem = normalise_msisdn(raw)
            if problem:
                bad("msisdn", problem)
        if (raw := _text(row.get("carrier"))) is not None:
            carrier = _CARRIER_ALIASES.get(raw.lower(), raw.lower())
            if carrier not in _CARRIERS:
                bad("carrier", Message(UNKNOWN_CARRIER, choices=", ".join(Carrier)))
        if (raw := _text(row.get("plan_quota_gb"))) is not None:
            try:
                quota = _quota(raw)
            except ValueError as exc:
                bad("plan_quota_gb", str(exc))
        expires = _date(row, "plan_expires_on", bad)
        warranty = _date(row, "warranty_until", bad)
        facts = check_facts(partial(_cell, row), bad, None)
        if not errors:
            out.records.append(
                (
                    number,
                    tag,
                    _text(row.get("model")),
                    _text(row.get("serial")),
                    condition.lower() if condition else None,
                    _text(row.get("note")),
                    msisdn,
                    carrier,
                    _text(row.get("plan_name")),
                    quota,
                    expires,
                    _text(row.get("paid_by")),
                    warranty,
                    *facts,
                )
            )
        out.errors.add(errors)
    return out

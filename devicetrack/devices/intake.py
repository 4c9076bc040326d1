"""Bulk intake and update-import of devices: all-or-nothing, at COPY speed.

Rows are checked in Python (per row and within the file), copied into a temporary staging
table with COPY, checked against the database with a few set-based queries, and then
inserted (with one `registered` event each) by a single INSERT … SELECT. Everything runs
in the request's one transaction, so a refused upload changes no row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import can_see_device
from devicetrack.common.phases import phase
from devicetrack.common.tabular import ROWS_WRONG
from devicetrack.common.workers import off_loop, release
from devicetrack.db.counters import lock_school_counters
from devicetrack.devices import intake_rows
from devicetrack.devices.intake_rows import (
    CheckedRows,
    NewRowsCheck,
    R,
    check_new_rows,
    check_update_rows,
)
from devicetrack.devices.schemas import DeviceIntake
from devicetrack.devices.tags import format_tag, format_tags
from devicetrack.errors import Conflict, FieldError, ValidationFailed
from devicetrack.i18n import N_, Message

# The staging tables: a row's number, then its Struct's fields in their order
# (devices/schemas.py: they are the upload's columns, named nowhere else); a new device's
# `id` is drawn from the devices' sequence during the COPY.
_SQL_TYPES = {
    "rownum": "int",
    "plan_quota_gb": "numeric(8, 2)",
    "plan_expires_on": "date",
    "warranty_until": "date",
    "storage_gb": "int",
    "ram_gb": "numeric(6, 1)",
    "battery_health_pct": "smallint",
}
NEW_COLUMNS = ["rownum", *intake_rows.COLUMNS]
UPDATE_COLUMNS = ["rownum", *intake_rows.UPDATE_COLUMNS]


def _staging(table: str, columns: list[str], *first: str) -> str:
    typed = [*first, *(f"{c} {_SQL_TYPES.get(c, 'text')}" for c in columns)]
    return f"CREATE TEMPORARY TABLE {table} ({', '.join(typed)}) ON COMMIT DROP"


STAGING_NEW = _staging("intake_rows", NEW_COLUMNS, "id bigint DEFAULT nextval('devices_id_seq')")
STAGING_UPDATE = _staging("intake_updates", UPDATE_COLUMNS)
# The devices' columns a staged row fills: all of its own but its number.
_DEVICE_COLUMNS = ", ".join(intake_rows.COLUMNS)
# Rows that collide with devices already stored, found by joining the staged rows (see
# register_devices) to the devices' unique indexes. The serial comparison matches the
# unique index uq_devices_make_serial. (As 300,000 text[] parameters instead, the driver
# encoded the strings one by one on the event loop: 1.5 s in which no request was answered.)
CONFLICTS_NEW = """
SELECT s.rownum AS n, 'imei' AS field, d.asset_tag, d.province_code, d.school_id, d.donor_id
  FROM intake_rows s JOIN devices d ON d.imei = s.imei
UNION ALL
SELECT s.rownum, 'iccid', d.asset_tag, d.province_code, d.school_id, d.donor_id
  FROM intake_rows s JOIN devices d ON d.iccid = s.iccid
UNION ALL
SELECT s.rownum, 'serial', d.asset_tag, d.province_code, d.school_id, d.donor_id
  FROM intake_rows s
  JOIN devices d ON lower(coalesce(d.make, '')) = lower(coalesce(s.make, ''))
                AND d.serial = s.serial
UNION ALL
SELECT s.rownum, 'asset_tag', coalesce(d.serial, d.imei, d.iccid, 'a device'), d.province_code,
       d.school_id, d.donor_id
  FROM intake_rows s JOIN devices d ON d.asset_tag = s.asset_tag
"""
# What a row that collides with a stored device is told: the other device is named only
# to a caller who may read it (another donor's tag or serial is not this donor's business).
CONFLICT_MESSAGES = {
    "imei": (N_("IMEI already registered as {tag}"), N_("IMEI already registered")),
    "iccid": (N_("ICCID already registered as {tag}"), N_("ICCID already registered")),
    "serial": (
        N_("serial already registered for this make as {tag}"),
        N_("serial already registered for this make"),
    ),
    "asset_tag": (N_("tag already bound to {tag}"), N_("tag already bound to another device")),
}
# Two statements rather than one INSERT … RETURNING feeding the events: the staging table
# already holds each device's id (its column default draws from the devices' sequence
# during the COPY), so the events need neither RETURNING nor a join, and PostgreSQL does
# not have to keep both statements' foreign-key checks queued at once (measured: the
# combined statement took ~3.8 s for 100,000 rows, the two together ~2.7 s).
INSERT_NEW = f"""
INSERT INTO devices (id, province_code, status, donation_id, donor_id, {_DEVICE_COLUMNS})
SELECT id, $1, 'in_stock', $2, $3, {_DEVICE_COLUMNS} FROM intake_rows
"""
REGISTERED_EVENTS = """
INSERT INTO device_events (device_id, actor_id, action, to_status, condition, data)
SELECT id, $1, 'registered', 'in_stock', condition, $2::jsonb FROM intake_rows
"""
CONFLICTS_UPDATE = """
SELECT s.rownum, 'asset_tag' AS field, 'not-in-donation' AS message,
       NULL::text AS other_tag, NULL::int AS other_row
  FROM intake_updates s LEFT JOIN devices d ON d.asset_tag = s.asset_tag AND d.donation_id = $1
 WHERE d.id IS NULL
UNION ALL
SELECT s.rownum, 'serial', 'serial-taken', o.asset_tag, NULL
  FROM intake_updates s
  JOIN devices d ON d.asset_tag = s.asset_tag
  JOIN devices o ON o.id <> d.id AND o.serial = s.serial
               AND lower(coalesce(o.make, '')) = lower(coalesce(d.make, ''))
UNION ALL
SELECT s.rownum, 'serial', 'duplicate', NULL, min(t.rownum) OVER (PARTITION BY s.rownum)
  FROM intake_updates s
  JOIN devices d ON d.asset_tag = s.asset_tag
  JOIN intake_updates t ON t.rownum < s.rownum AND t.serial = s.serial
  JOIN devices e ON e.asset_tag = t.asset_tag
               AND lower(coalesce(e.make, '')) = lower(coalesce(d.make, ''))
UNION ALL
SELECT s.rownum, 'asset_tag', 'left-stock', NULL, NULL
  FROM intake_updates s JOIN devices d ON d.asset_tag = s.asset_tag
 WHERE $2 AND d.status <> 'in_stock'
UNION ALL
SELECT s.rownum, 'msisdn', 'sims-only', NULL, NULL
  FROM intake_updates s JOIN devices d ON d.asset_tag = s.asset_tag
 WHERE d.kind <> 'sim' AND (s.msisdn IS NOT NULL OR s.carrier IS NOT NULL
       OR s.plan_name IS NOT NULL OR s.plan_quota_gb IS NOT NULL
       OR s.plan_expires_on IS NOT NULL OR s.paid_by IS NOT NULL)
ORDER BY 1, 2
"""
# What CONFLICTS_UPDATE's rows say, by their code; the row's tag and row fill the message.
UPDATE_CONFLICTS = {
    "not-in-donation": N_("no device with this tag in this donation"),
    "serial-taken": N_("serial already registered for this make as {tag}"),
    "duplicate": N_("duplicate of row {row} in this file"),
    "left-stock": N_("the device has left the province stock; ask the province to change it"),
    "sims-only": N_("SIM fields apply to SIMs only"),
}
APPLY_UPDATE = """
WITH changed AS (
    UPDATE devices d SET
        model = coalesce(s.model, d.model), serial = coalesce(s.serial, d.serial),
        condition = coalesce(s.condition, d.condition), note = coalesce(s.note, d.note),
        msisdn = coalesce(s.msisdn, d.msisdn), carrier = coalesce(s.carrier, d.carrier),
        plan_name = coalesce(s.plan_name, d.plan_name),
        plan_quota_gb = coalesce(s.plan_quota_gb, d.plan_quota_gb),
        plan_expires_on = coalesce(s.plan_expires_on, d.plan_expires_on),
        paid_by = coalesce(s.paid_by, d.paid_by),
        warranty_until = coalesce(s.warranty_until, d.warranty_until),
        activation_lock = coalesce(s.activation_lock, d.activation_lock),
        storage_gb = coalesce(s.storage_gb, d.storage_gb),
        ram_gb = coalesce(s.ram_gb, d.ram_gb),
        battery_health_pct = coalesce(s.battery_health_pct, d.battery_health_pct),
        updated_at = now()
      FROM intake_updates s
     WHERE d.asset_tag = s.asset_tag
    RETURNING d.id, d.status, d.condition, s.model, s.serial, s.condition AS new_condition,
              s.note, s.msisdn, s.carrier, s.plan_name, s.plan_quota_gb, s.plan_expires_on,
              s.paid_by, s.warranty_until, s.activation_lock, s.storage_gb, s.ram_gb,
              s.battery_health_pct
)
INSERT INTO device_events (device_id, actor_id, action, from_status, to_status, condition, data)
SELECT id, $1, 'edited', status, status, condition,
       jsonb_build_object('source', 'update-import', 'changed', jsonb_strip_nulls(
           jsonb_build_object('model', model, 'serial', serial, 'condition', new_condition,
               'note', note, 'msisdn', msisdn, 'carrier', carrier, 'plan_name', plan_name,
               'plan_quota_gb', plan_quota_gb, 'plan_expires_on', plan_expires_on,
               'paid_by', paid_by, 'warranty_until', warranty_until,
               'activation_lock', activation_lock, 'storage_gb', storage_gb, 'ram_gb', ram_gb,
               'battery_health_pct', battery_health_pct)))
  FROM changed
"""


# The streamed path (register_devices): rows checked and written a part at a time, straight
# into the devices and their events with COPY.
PART = 5000
# An upsert that changes nothing but takes the row's lock (DO NOTHING would not lock it).
LOCK_DONATION_COUNT = """
INSERT INTO donation_counts AS c (donation_id, devices) VALUES ($1, 0)
ON CONFLICT (donation_id) DO UPDATE SET devices = c.devices
"""

STREAM_DEVICE_COLUMNS = [
    "id",
    "province_code",
    "status",
    "donation_id",
    "donor_id",
    *intake_rows.COLUMNS,
]
STREAM_EVENT_COLUMNS = ["device_id", "actor_id", "action", "to_status", "condition", "data"]
NEW_IDS = "SELECT nextval('devices_id_seq') FROM generate_series(1, $1)"


class IntakeResult(msgspec.Struct):
    created: int
    asset_tags: list[str]
    warnings: list[FieldError]


class UpdateResult(msgspec.Struct):
    updated: int
    asset_tags: list[str]
    warnings: list[FieldError]


async def raw_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the request's transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)  # SQLAlchemy types it Any | None
    if not driver.is_in_transaction():
        # SQLAlchemy begins the database transaction lazily, on its first statement.
        await session.execute(text("SELECT 1"))
    return driver


def _refuse(checked: CheckedRows[Any], db_errors: list[FieldError] | None = None) -> None:
    more = db_errors or []
    errors = sorted(checked.errors.listed + more, key=lambda e: (e.row or 0, e.field or ""))
    if errors or checked.errors.not_listed:
        raise ValidationFailed(
            ROWS_WRONG,
            errors=errors,
            not_listed=checked.errors.not_listed,
            extra={"warnings": checked.warnings} if checked.warnings else None,
            n=checked.errors.wrong_rows(more),
        )


async def _reserved_ranges(conn: asyncpg.Connection, province: str) -> list[tuple[int, int]]:
    rows = await conn.fetch(
        "SELECT first_sequence, first_sequence + count FROM label_batches WHERE province_code = $1",
        province,
    )
    return [(r[0], r[1]) for r in rows]


async def take_sequences(conn: asyncpg.Connection, province: str, count: int) -> int:
    """Reserve `count` consecutive sequence numbers; return the first. The row lock held
    until commit serialises concurrent intakes in one province, so ranges never overlap
    and a rolled-back intake leaves no gap."""
    last = await conn.fetchval(
        "UPDATE tag_sequences SET last_value = last_value + $2 WHERE province_code = $1"
        " RETURNING last_value",
        province,
        count,
    )
    if last is None or last > 999_999:
        raise Conflict(N_("Province {code} has no asset-tag numbers left."), code=province)
    return int(last) - count + 1


def _refuse_update(checked: CheckedRows[Any], conflicts: list[asyncpg.Record]) -> None:
    _refuse(
        checked,
        [
            FieldError(
                row=r[0], field=r[1], message=Message(UPDATE_CONFLICTS[r[2]], tag=r[3], row=r[4])
            )
            for r in conflicts
        ],
    )


def _unreserved(bound_tags: dict[str, int], ranges: list[tuple[int, int]]) -> list[int]:
    """Rows whose pre-printed tag lies in no reserved label batch."""
    return [
        number
        for tag, number in bound_tags.items()
        if not any(lo <= int(tag[5:11]) < hi for lo, hi in ranges)
    ]


def _conflict_errors(
    principal: Principal, conflicts: list[asyncpg.Record], unreserved: list[int]
) -> list[FieldError]:
    errors = [
        FieldError(row=number, field="asset_tag", message=N_("not a reserved label tag"))
        for number in unreserved
    ]
    for n, column, other, other_province, other_school, other_donor in conflicts:
        named, unnamed = CONFLICT_MESSAGES[column]
        visible = can_see_device(principal, other_province, other_school, other_donor)
        errors.append(
            FieldError(
                row=n, field=column, message=Message(named, tag=other) if visible else unnamed
            )
        )
    return errors


def _tag_unbound(items: list[DeviceIntake], province: str, first: int, count: int) -> None:
    """A fresh tag for each device that brought none (its own label)."""
    fresh = iter(format_tags(province, first, count))
    for item in items:
        if item.asset_tag is None:
            item.asset_tag = next(fresh)


async def in_slices(
    checked: CheckedRows[R], staged: Callable[[int, R], tuple[Any, ...]], size: int = 2000
) -> AsyncIterator[tuple[Any, ...]]:
    """The records as the staging table's rows for COPY, handing the event loop back every
    `size` of them: the driver encodes them on the loop, and given the whole list it does
    not stop until the socket is full (a local server never fills it), so 100,000 rows held
    every request 0.3 s."""
    numbers, items = checked.numbers, checked.items
    for start in range(0, len(items), size):
        for number, item in zip(
            numbers[start : start + size], items[start : start + size], strict=True
        ):
            yield staged(number, item)
        await asyncio.sleep(0)


async def register_devices(
    session: AsyncSession,
    principal: Principal,
    *,
    donation_id: int,
    donor_id: int,
    province: str,
    actor_id: int,
    rows: Sequence[tuple[int, Mapping[str, object]]],
) -> IntakeResult:
    """Register every row, or refuse every bad row at once. First the streamed path,
    which writes each part of the file while the next is checked and leaves the
    collisions with stored devices to the unique indexes; if a row is wrong or an index
    refuses one, what it wrote is rolled back and the checked path below finds and lists
    every bad row. Whatever loops over the rows in Python runs off the event loop."""
    conn = await raw_connection(session)
    # The donation's count row (kept by a trigger on devices, migration 0044) is locked
    # first, before the province's tag sequence and stock counters that the writes lock:
    # two intakes into one donation then queue here instead of each holding one lock the
    # other needs (the trigger took the row at each part's COPY, in between).
    await conn.execute(LOCK_DONATION_COUNT, donation_id)
    streamed = await _register_streamed(
        conn,
        donation_id=donation_id,
        donor_id=donor_id,
        province=province,
        actor_id=actor_id,
        rows=rows,
    )
    if streamed is not None:
        return streamed
    return await _register_checked(
        conn,
        principal,
        donation_id=donation_id,
        donor_id=donor_id,
        province=province,
        actor_id=actor_id,
        rows=rows,
    )


async def _register_streamed(
    conn: asyncpg.Connection,
    *,
    donation_id: int,
    donor_id: int,
    province: str,
    actor_id: int,
    rows: Sequence[tuple[int, Mapping[str, object]]],
) -> IntakeResult | None:
    """The rows in parts of PART: a worker thread checks part k + 1 while part k is
    COPYed into `devices` and its `registered` events into `device_events` (the rows'
    ids drawn first), so Python's checks and PostgreSQL's writes overlap on the two
    cores. Nothing is asked of the database that its constraints already check: a serial,
    IMEI, ICCID or tag already stored fails the COPY on its unique index. The whole is a
    savepoint: None, with it rolled back, when a row is wrong, a pre-printed tag is not
    reserved, or a constraint refused a row (the caller then lists them all)."""
    check = NewRowsCheck(province)
    out = check.out
    data = msgspec.json.encode({"donation_id": donation_id}).decode()
    ranges: list[tuple[int, int]] | None = None
    savepoint = conn.transaction()
    await savepoint.start()
    pending: asyncio.Future[int] | None = None
    written = 0
    try:
        start = 0
        pending = asyncio.ensure_future(off_loop(check.check, rows[start : start + PART]))
        while pending is not None:
            with phase("validate"):  # only the wait: the check overlaps the writes
                passed = await pending
            start += PART
            pending = (
                asyncio.ensure_future(off_loop(check.check, rows[start : start + PART]))
                if start < len(rows)
                else None
            )
            if out.errors:
                raise _Refused
            items = out.items[written : written + passed]
            bound = [item.asset_tag for item in items if item.asset_tag is not None]
            if bound:
                if ranges is None:
                    ranges = await _reserved_ranges(conn, province)
                if _unreserved(dict.fromkeys(bound, 0), ranges):
                    raise _Refused
            first = 0
            if len(bound) < len(items):
                first = await take_sequences(conn, province, len(items) - len(bound))
            with phase("db-devices"):
                ids = [r[0] for r in await conn.fetch(NEW_IDS, len(items))]
                await conn.copy_records_to_table(
                    "devices",
                    records=_device_records(
                        ids, items, province, first, (province, "in_stock", donation_id, donor_id)
                    ),
                    columns=STREAM_DEVICE_COLUMNS,
                )
            with phase("db-events"):
                await conn.copy_records_to_table(
                    "device_events",
                    records=_event_records(ids, items, actor_id, data),
                    columns=STREAM_EVENT_COLUMNS,
                )
            written += passed
    except (_Refused, asyncpg.IntegrityConstraintViolationError):
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)  # its thread runs on
        await savepoint.rollback()
        await release(out.numbers, out.items)
        return None
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    await savepoint.commit()
    try:
        return IntakeResult(
            created=len(out.items),
            asset_tags=[item.asset_tag or "" for item in out.items],
            warnings=out.warnings,
        )
    finally:
        await release(out.numbers, out.items)


class _Refused(Exception):
    """The streamed intake stops: a row is wrong (the checked path lists why)."""


SLICE = 1000  # records the driver encodes between two turns of the event loop


async def _device_records(
    ids: list[int],
    items: list[DeviceIntake],
    province: str,
    first: int,
    fixed: tuple[str, str, int, int],
) -> AsyncIterator[tuple[Any, ...]]:
    """A part's devices as rows of STREAM_DEVICE_COLUMNS, each without a pre-printed tag
    given the next fresh one (from `first`, in file order), handing the event loop back
    every SLICE records (see in_slices)."""
    fresh = 0
    for start in range(0, len(items), SLICE):
        for device_id, item in zip(
            ids[start : start + SLICE], items[start : start + SLICE], strict=True
        ):
            if item.asset_tag is None:
                item.asset_tag = format_tag(province, first + fresh)
                fresh += 1
            yield (device_id, *fixed, *msgspec.structs.astuple(item))
        await asyncio.sleep(0)


async def _event_records(
    ids: list[int], items: list[DeviceIntake], actor_id: int, data: str
) -> AsyncIterator[tuple[Any, ...]]:
    """A part's `registered` events as rows of STREAM_EVENT_COLUMNS."""
    for start in range(0, len(items), SLICE):
        for device_id, item in zip(
            ids[start : start + SLICE], items[start : start + SLICE], strict=True
        ):
            yield (device_id, actor_id, "registered", "in_stock", item.condition, data)
        await asyncio.sleep(0)


async def _register_checked(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    donation_id: int,
    donor_id: int,
    province: str,
    actor_id: int,
    rows: Sequence[tuple[int, Mapping[str, object]]],
) -> IntakeResult:
    """Check the rows, stage them with COPY, find the ones that collide with stored
    devices by joins, and insert them all, or refuse every bad row at once."""
    with phase("validate"):
        checked = await off_loop(check_new_rows, rows, province)
    unreserved: list[int] = []
    if checked.bound_tags:
        ranges = await _reserved_ranges(conn, province)
        unreserved = await off_loop(_unreserved, checked.bound_tags, ranges)
    items = checked.items
    try:
        unbound = sum(1 for item in items if item.asset_tag is None)
        if unbound and not checked.errors and not unreserved:
            # Before the collision check, so the staged rows carry their tags; a refusal
            # rolls the numbers back with everything else.
            first = await take_sequences(conn, province, unbound)
            await off_loop(_tag_unbound, items, province, first, unbound)
        with phase("db-stage"):
            await conn.execute(STAGING_NEW)
            await conn.copy_records_to_table(
                "intake_rows",
                records=in_slices(checked, intake_rows.staged_new),
                columns=NEW_COLUMNS,
            )
        with phase("db-check"):
            await conn.execute("ANALYZE intake_rows")  # the joins below are planned for its size
            conflicts = await conn.fetch(CONFLICTS_NEW)
        if checked.errors or conflicts or unreserved:
            db_errors = await off_loop(_conflict_errors, principal, conflicts, unreserved)
            await off_loop(_refuse, checked, db_errors)
        try:
            with phase("db-devices"):
                await conn.execute(INSERT_NEW, province, donation_id, donor_id)
            with phase("db-events"):
                await conn.execute(
                    REGISTERED_EVENTS,
                    actor_id,
                    msgspec.json.encode({"donation_id": donation_id}).decode(),
                )
        except asyncpg.UniqueViolationError as exc:
            # Another intake committed the same identity between our check and insert.
            raise Conflict(
                N_(
                    "A device in this upload was registered by another request at the same "
                    "time ({constraint}); nothing was imported — retry to see which row."
                ),
                constraint=exc.constraint_name,
            ) from None
        await conn.execute("DROP TABLE intake_rows")
        return IntakeResult(
            created=len(items),
            asset_tags=[item.asset_tag or "" for item in items],
            warnings=checked.warnings,
        )
    finally:
        await release(checked.numbers, items)


async def update_devices(
    session: AsyncSession,
    principal: Principal,
    *,
    donation_id: int,
    actor_id: int,
    rows: Sequence[tuple[int, Mapping[str, object]]],
) -> UpdateResult:
    checked = await off_loop(check_update_rows, rows)
    conn = await raw_connection(session)
    await conn.execute(STAGING_UPDATE)
    await conn.copy_records_to_table(
        "intake_updates",
        records=in_slices(checked, intake_rows.staged_update),
        columns=UPDATE_COLUMNS,
    )
    tags = [item.asset_tag for item in checked.items]
    await release(checked.numbers, checked.items)
    # A donor corrects its devices only while they are in the province's stock (as PATCH).
    conflicts = await conn.fetch(CONFLICTS_UPDATE, donation_id, principal.is_donor)
    if checked.errors or conflicts:
        await off_loop(_refuse_update, checked, conflicts)
    # The devices may be at schools: their counter rows first (db/counters.py), in id order.
    schools = await conn.fetch(
        """SELECT DISTINCT d.school_id FROM devices d JOIN intake_updates u
               ON u.asset_tag = d.asset_tag
            WHERE d.donation_id = $1 AND d.school_id IS NOT NULL ORDER BY 1""",
        donation_id,
    )
    await lock_school_counters(session, *(r[0] for r in schools))
    try:
        await conn.execute(APPLY_UPDATE, actor_id)
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(
            N_("An update collided with another request ({constraint}); nothing changed."),
            constraint=exc.constraint_name,
        ) from None
    await conn.execute("DROP TABLE intake_updates")
    return UpdateResult(updated=len(tags), asset_tags=tags, warnings=checked.warnings)

"""Device exports: every matching row, no cap, flat memory. CSV is written by PostgreSQL;
so is the API's XLSX (its worksheet's XML, deflated by a worker process); the pages' XLSX,
which shows each row in the reader's words, is written in a worker process while the rows
are fetched (common/spreadsheet.py). Every cell passes the one formula rule there."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import IO, Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncEngine

from devicetrack.auth.principal import Principal
from devicetrack.common import spreadsheet
from devicetrack.common.heavy import HeavyWork
from devicetrack.devices import repository as repo

COLUMNS = [
    "asset_tag",
    "kind",
    "make",
    "model",
    "serial",
    "imei",
    "status",
    "condition",
    "province_code",
    "donation_id",
    "donor_id",
    "school_id",
    "received_at",
    "last_seen_at",
    "warranty_until",
    "note",
    "iccid",
    "msisdn",
    "carrier",
    "plan_name",
    "plan_quota_gb",
    "plan_expires_on",
    "paid_by",
    "installed_in",
    "installed_sim",
]
# The export a person reads (the pages') names the donation, the donor and the school where
# the API's gives their numbers; the names come from donations.export, which knows all three.
NAMED = {"donation_id": "donation", "donor_id": "donor", "school_id": "school"}
PEOPLE_COLUMNS = [NAMED.get(c, c) for c in COLUMNS]
DATES = {"warranty_until", "plan_expires_on"}  # days; the other times are timestamps


async def probe(engine: AsyncEngine, where: list[ColumnElement[bool]]) -> None:
    """Run the export's query for zero rows before the response starts, so a filter the
    database refuses becomes a clean 4xx instead of a stream cut off after its headers."""
    async with engine.connect() as conn:
        await conn.execute(repo.device_query(where).limit(0))


def csv_stream(
    engine: AsyncEngine, principal: Principal, where: list[ColumnElement[bool]]
) -> AsyncIterator[bytes]:
    """The CSV written by PostgreSQL (spreadsheet.csv_copy): the event loop only relays
    its chunks, and serves other requests in between."""
    query = repo.export_query(where, COLUMNS, repo.readable_note(principal))
    return spreadsheet.csv_copy(engine, COLUMNS, query)


async def xlsx_file(
    heavy: HeavyWork,
    engine: AsyncEngine,
    principal: Principal,
    where: list[ColumnElement[bool]],
    *,
    heading: Callable[[str], str] | None = None,
    prepare: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
    names: Mapping[str, ColumnElement[Any]] | None = None,
) -> IO[bytes]:
    """The workbook, written by a worker process that reads the rows itself (the same
    query, scope included). `heading` names the columns and `prepare` shows a row for a
    person (the pages: the reader's language and clock); the API's export keeps names and
    stored values as they are. `prepare` must pickle: it travels to the worker. With
    `names` (a column per key of NAMED's values), the columns are PEOPLE_COLUMNS."""
    names_of = COLUMNS if names is None else PEOPLE_COLUMNS
    columns = [
        spreadsheet.Column(
            heading(name) if heading else name, spreadsheet.DAY if name in DATES else None
        )
        for name in names_of
    ]
    statement = repo.export_query(where, names_of, repo.readable_note(principal), names)
    if prepare is None:
        # The stored values as they are: PostgreSQL writes the worksheet's rows itself.
        return await heavy.file(
            ".xlsx",
            spreadsheet.write_xlsx_copy,
            "devices",
            columns,
            spreadsheet.SheetQuery.of(engine, statement, heavy.statement_timeout_ms),
            freeze_col=1,
        )
    query = spreadsheet.Query.of(engine, statement, heavy.statement_timeout_ms)
    return await heavy.file(
        ".xlsx",
        spreadsheet.write_xlsx_query,
        "devices",
        columns,
        query,
        freeze_col=1,
        prepare=prepare,
    )

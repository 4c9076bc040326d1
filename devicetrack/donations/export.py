"""The device workbook a person downloads from the pages: the devices export with each
device's donation, donor and school by name instead of by number. It lives here because
donations is the lowest domain that knows all three (devices sits below donations)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO, Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncEngine

from devicetrack.auth.principal import Principal
from devicetrack.common.heavy import HeavyWork
from devicetrack.devices import export as devices_export
from devicetrack.donations import repository as repo


async def devices_xlsx_named(
    heavy: HeavyWork,
    engine: AsyncEngine,
    principal: Principal,
    where: list[ColumnElement[bool]],
    *,
    heading: Callable[[str], str],
    prepare: Callable[[Sequence[Any]], Sequence[Any]],
) -> IO[bytes]:
    """devices.export.xlsx_file with the columns of devices.export.PEOPLE_COLUMNS."""
    return await devices_export.xlsx_file(
        heavy, engine, principal, where, heading=heading, prepare=prepare, names=repo.device_names()
    )

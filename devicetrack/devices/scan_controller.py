from __future__ import annotations

import asyncpg
from litestar import Controller, get

from devicetrack.auth.principal import Principal
from devicetrack.devices import service
from devicetrack.devices.schemas import DeviceRead


class ScanController(Controller):
    path = "/scan"
    tags = ["devices"]

    @get("/{code:str}", operation_id="scanLookup")
    async def scan(self, pool: asyncpg.Pool, principal: Principal, code: str) -> DeviceRead:
        """Find a device from whatever a scanner typed: an asset tag (any case, with or
        without dashes), an IMEI, an ICCID or a serial."""
        return await service.scan_lookup(pool, principal, code)

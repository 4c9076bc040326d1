from __future__ import annotations

from typing import Any

import asyncpg
from litestar import Controller, Request, get, post

from devicetrack.auth.principal import Principal
from devicetrack.devices import photos, service
from devicetrack.devices.schemas import DeviceRead, PhotoScan
from devicetrack.devices.upload_photo import read_photo
from devicetrack.errors import reader_language


class ScanController(Controller):
    path = "/scan"
    tags = ["devices"]

    @get("/{code:str}", operation_id="scanLookup")
    async def scan(self, pool: asyncpg.Pool, principal: Principal, code: str) -> DeviceRead:
        """Find a device from whatever a scanner typed: an asset tag (any case, with or
        without dashes), an IMEI, an ICCID or a serial."""
        return await service.scan_lookup(pool, principal, code)

    @post(
        "/image",
        operation_id="scanImage",
        status_code=200,
        request_max_body_size=photos.MAX_PHOTO_BYTES + 64 * 1024,  # the multipart around it
    )
    async def image(
        self, request: Request[Any, Any, Any], pool: asyncpg.Pool, principal: Principal
    ) -> PhotoScan:
        """Every label in a photo: multipart field `file`, a JPEG or PNG (judged by its
        content) of at most 10 MiB and 40 megapixels. Each Code 128 and QR code read is
        looked up as GET /scan/{code} does (a label's QR holds `…/d/{tag}`); `items` are
        the devices found, once each, `codes` every code read and the device it named or
        why not. 415 for another type (HEIC, WebP…), 413 beyond the limits, 422 when no
        code could be read."""
        photo = await read_photo(request)
        return await service.scan_photo(pool, principal, photo, reader_language(request))

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec
from litestar import Controller, MediaType, Request, Response, get, patch, post
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.common.phases import Phases, phase
from devicetrack.common.tabular import (
    Rows,
    UploadLimits,
    clean_cell,
    too_many_rows,
)
from devicetrack.common.uploads import after_upload, limit_upload_body, read_upload
from devicetrack.common.workers import off_loop
from devicetrack.config import Settings
from devicetrack.devices import service as devices
from devicetrack.devices.intake import IntakeResult, UpdateResult
from devicetrack.devices.schemas import DevicePage
from devicetrack.donations import service
from devicetrack.donations.schemas import (
    DonationCreate,
    DonationPage,
    DonationRead,
    DonationUpdate,
    LabelBatchCreate,
    LabelBatchDetail,
    LabelBatchPage,
    LabelBatchRead,
)
from devicetrack.errors import ValidationFailed, echo, field_error_of
from devicetrack.i18n import N_

_JSON_ITEM = re.compile(r"at `\$\[(\d+)\]")


def _json_rows(body: bytes, limits: UploadLimits) -> Rows[object]:
    """A JSON list of devices as the rows a table gives (text trimmed, empty left out), so
    they are read, converted and checked as an upload's rows are; row numbers count from 1
    in list order. Blocking: called off the event loop, as a table is parsed."""
    try:
        items = msgspec.json.decode(body, type=list[dict[str, Any]])
    except msgspec.ValidationError as exc:
        error = field_error_of(exc)
        if match := _JSON_ITEM.search(str(exc)):
            error.row = int(match.group(1)) + 1
        raise ValidationFailed(N_("A device in the list is malformed."), errors=[error]) from None
    except msgspec.DecodeError as exc:
        raise ValidationFailed(
            N_("The body is not valid JSON: {reason}"), reason=echo(str(exc))
        ) from None
    if len(items) > limits.max_rows:
        raise too_many_rows(limits)
    rows: Rows[object] = Rows()
    for i, item in enumerate(items, start=1):
        rows.append(i, {k: clean_cell(v) if isinstance(v, str) else v for k, v in item.items()})
    return rows


class DonationController(Controller):
    path = "/donations"
    tags = ["donations"]

    @post("/", operation_id="createDonation")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: DonationCreate
    ) -> DonationRead:
        return await service.create_donation(tx, principal, data)

    @get("/", operation_id="listDonations")
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        donor: int | None = None,
        province: str | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> DonationPage:
        rows = await service.list_donations(
            tx,
            principal,
            donor_id=donor,
            province=province,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_of(rows, limit)
        return DonationPage(items=items, next_cursor=next_cursor)

    @get("/{donation_id:int}", operation_id="getDonation")
    async def get_(self, tx: AsyncSession, principal: Principal, donation_id: int) -> DonationRead:
        """Pledged lines, and pledged vs received per kind."""
        return await service.read_donation(tx, principal, donation_id)

    @patch("/{donation_id:int}", operation_id="updateDonation")
    async def update(
        self, tx: AsyncSession, principal: Principal, donation_id: int, data: DonationUpdate
    ) -> DonationRead:
        return await service.update_donation(tx, principal, donation_id, data)

    @post(
        "/{donation_id:int}/devices",
        operation_id="intakeDevices",
        request_max_body_size=None,  # Settings.max_upload_bytes, by limit_upload_body
        middleware=[limit_upload_body],
        after_response=after_upload,
        description=(
            "Bulk intake: a JSON list of devices, or a CSV/XLSX upload (multipart field "
            "`file`, or the raw file as the body) with the columns "
            "kind,make,model,serial,imei,iccid,msisdn,carrier,plan_name,plan_quota_gb,"
            "plan_expires_on,paid_by,condition,asset_tag,note,warranty_until (Vietnamese "
            "headers accepted). All-or-nothing: any bad row refuses the whole upload, with "
            "every bad row listed (row = spreadsheet row, header is row 1; in JSON the "
            "position in the list from 1). `mode=update` updates existing devices of this "
            "donation matched by asset_tag."
        ),
    )
    async def intake(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        donation_id: int,
        mode: Literal["create", "update"] = "create",
    ) -> Response[IntakeResult | UpdateResult]:
        # Scope first, so an out-of-scope caller learns nothing from validation errors.
        await service.get_donation(tx, principal, donation_id)
        limits = UploadLimits.of(settings)
        content_type = request.headers.get("content-type", "")
        rows: Rows[object] | Rows[str]
        # Server-Timing: where the time went (body, parse, validate, db: common/phases.py).
        with Phases().opened() as phases:
            if content_type.startswith("application/json"):
                with phase("body"):
                    body = await request.body()
                with phase("parse"):
                    rows = await off_loop(_json_rows, body, limits)
                del body
            else:
                with phase("body"):
                    data, filename = await read_upload(request)
                with phase("parse"):
                    rows = await service.intake_table(data, filename, mode, limits)
                del data  # the file's bytes are not needed once parsed
            try:
                result = await service.intake_devices(tx, principal, donation_id, rows, mode)
            finally:
                await rows.release()
        return Response(
            result,
            status_code=HTTP_201_CREATED,
            media_type=MediaType.JSON,
            headers={"Server-Timing": phases.header()},
        )

    @get("/{donation_id:int}/devices", operation_id="listDonationDevices")
    async def devices(
        self,
        tx: AsyncSession,
        principal: Principal,
        donation_id: int,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> DevicePage:
        await service.get_donation(tx, principal, donation_id)
        where = devices.device_filters(principal, donation=donation_id)
        rows = await devices.list_devices(
            tx, principal, where, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return DevicePage(items=items, next_cursor=next_cursor)


class LabelBatchController(Controller):
    path = "/label-batches"
    tags = ["labels"]

    @post("/", operation_id="createLabelBatch")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: LabelBatchCreate
    ) -> LabelBatchRead:
        """Reserve tags for pre-printed labels; intake binds them (the asset_tag column)."""
        return await service.create_label_batch(tx, principal, data)

    @get("/", operation_id="listLabelBatches")
    async def list_(
        self, tx: AsyncSession, principal: Principal, limit: Limit = 50, cursor: Cursor = None
    ) -> LabelBatchPage:
        rows = await service.list_label_batches(
            tx, principal, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return LabelBatchPage(items=items, next_cursor=next_cursor)

    @get("/{batch_id:int}", operation_id="getLabelBatch")
    async def get_(self, tx: AsyncSession, principal: Principal, batch_id: int) -> LabelBatchDetail:
        return await service.get_label_batch(tx, principal, batch_id)

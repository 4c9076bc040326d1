"""Pages every role shares: home, the scan box and the device page with its actions
(sign-in and the language switch: pages_signin.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.config import Settings
from devicetrack.custody import evidence
from devicetrack.custody import service as device_actions
from devicetrack.devices import lifecycle, photos
from devicetrack.devices import service as devices
from devicetrack.devices.schemas import (
    ActionBody,
    ActionResult,
    DeviceRead,
    DeviceUpdate,
    PhotoScan,
)
from devicetrack.devices.upload_photo import read_photo
from devicetrack.devices.values import ActivationLock, Condition
from devicetrack.errors import DomainError
from devicetrack.labels import render as labels_render
from devicetrack.labels import service as labels
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done, home_of
from devicetrack.web.render import language, page


class CommonPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(self, principal: Principal) -> Response[Any]:
        return Redirect(home_of(principal), status_code=303)

    @get("/d/{tag:str}")
    async def device_link(self, tag: str) -> Response[Any]:
        """What a label's QR opens (common.links.device_link): the device page, which
        sends a signed-out phone through sign-in and back to it."""
        return Redirect(f"/devices/{quote(tag.strip()[:60], safe='')}", status_code=303)

    @get("/scan")
    async def scan(
        self,
        request: Request[Any, Any, Any],
        pool: asyncpg.Pool,
        principal: Principal,
        code: str = "",
    ) -> Response[Any]:
        """What the scan box sends: a tag (any case, dashes or not), IMEI, ICCID or serial."""
        code = code.strip()[:60]
        if not code:
            return page(request, "scan.html", principal, code="")
        try:
            device = await devices.scan_lookup(pool, principal, code)
        except DomainError as exc:
            return page(
                request,
                "scan.html",
                principal,
                status=exc.status,
                code=code,
                error=exc,
                did_you_mean=exc.extra.get("did_you_mean"),
            )
        return Redirect(f"/devices/{device.asset_tag}", status_code=303)

    @post(
        "/scan/image.json",
        status_code=200,
        request_max_body_size=photos.MAX_PHOTO_BYTES + 64 * 1024,
    )
    async def scan_photo(
        self, request: Request[Any, Any, Any], pool: asyncpg.Pool, principal: Principal
    ) -> PhotoScan:
        """The scan box's "take a photo" on phones without BarcodeDetector: the same answer
        as POST /api/v1/scan/image, for the page's script (errors as problem+json)."""
        photo = await read_photo(request)
        return await devices.scan_photo(pool, principal, photo, language(request, principal))

    @get("/devices/{tag:str}")
    async def device(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
    ) -> Response[Any]:
        return await self._device_page(request, tx, principal, tag)

    async def _device_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
        *,
        failed: str | None = None,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        """The device page; after a refused action, that action's form is open with the
        reason and what was typed (`failed`, `error`, `values`)."""
        device = await devices.read_device(tx, principal, tag)
        events = await device_actions.list_events(
            tx, principal, device.asset_tag, after_id=None, limit=1000
        )
        settings: Settings = request.app.state.settings
        svg = labels_render.label_svg(
            await labels.device_label(tx, principal, device.asset_tag, settings.public_url)
        )
        # Inline: drop the XML declaration; the SVG escapes its own text.
        label = Markup(svg.split("\n", 1)[-1])
        school_ids = [i for i in {device.school_id, *(e.school_id for e in events)} if i]
        names = await schools.school_names(tx, school_ids)
        loan = await assignments.loan_shown_with(tx, principal, device)
        if loan is not None:
            # The page names the holder to the school's staff: a read of the student.
            await privacy.record_reads(tx, principal, privacy.route_of(request), [loan])
        allowed = [t.action for t in lifecycle.actions_for(principal, device)]
        targets = (
            await schools.transfer_targets(tx, principal, device.province_code, device.school_id)
            if "transfer" in allowed
            else []
        )
        return page(
            request,
            "device.html",
            principal,
            device=device,
            events=list(reversed(events)),
            label=label,
            school_names=names,
            loan=loan,
            loan_evidence=await evidence.shown_with_loan(tx, principal, loan.id) if loan else [],
            actions=allowed,
            sim_action=lifecycle.sim_pairing_for(principal, device),
            transfer_targets=targets,
            conditions=Condition,
            locks=ActivationLock,
            failed=failed,
            error=error,
            values=values or {},
        )

    @post("/devices/{tag:str}/plan")
    async def renew_plan(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
    ) -> Response[Any]:
        """A SIM's plan renewed: a new expiry date (and the plan's name, if it changed)."""
        form = await Form.of(request)
        form.day("plan_expires_on", required=True)  # a renewal is a new expiry date
        data = form.into(DeviceUpdate)
        result: DeviceRead | DomainError | None = form.refusal()
        if result is None and data is not None:
            result = await attempt(tx, lambda: devices.update_device(tx, principal, tag, data))
        assert result is not None  # no refusal means the form converted
        if isinstance(result, DomainError):
            return await self._device_page(
                request, tx, principal, tag, failed="plan", error=result, values=form.values
            )
        return done(f"/devices/{result.asset_tag}", "Saved.")

    @post("/devices/{tag:str}/facts")
    async def facts(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
    ) -> Response[Any]:
        """What intake found on a used device: its activation lock (cleared here once the
        account or MDM is removed), storage, RAM and battery health."""
        form = await Form.of(request)
        if isinstance(ram := form.values.get("ram_gb"), str):
            form.values["ram_gb"] = ram.replace(",", ".")  # "1,5" as people type it
        data = form.into(DeviceUpdate)  # an emptied number clears it
        result: DeviceRead | DomainError | None = form.refusal()
        if result is None and data is not None:
            result = await attempt(tx, lambda: devices.update_device(tx, principal, tag, data))
        assert result is not None  # no refusal means the form converted
        if isinstance(result, DomainError):
            return await self._device_page(
                request, tx, principal, tag, failed="facts", error=result, values=form.values
            )
        return done(f"/devices/{result.asset_tag}", "Saved.")

    @post("/devices/{tag:str}/actions/{action:str}")
    async def action(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        tag: str,
        action: str,
    ) -> Response[Any]:
        form = await Form.of(request)
        body = form.into(ActionBody)
        result: ActionResult | DomainError | None = form.refusal()
        if result is None and body is not None:
            result = await attempt(
                tx, lambda: device_actions.perform(tx, principal, tag, action, body)
            )
        assert result is not None  # no refusal means the form converted
        if isinstance(result, DomainError):
            # Back to the device page with this action's form open, the reason and the
            # values typed; a device the caller may not see stays "not found".
            return await self._device_page(
                request, tx, principal, tag, failed=action, error=result, values=form.values
            )
        return done(f"/devices/{result.device.asset_tag}", "Saved.")

"""Donor pages: donations (pledged against received), registering devices one by one or
by upload with every bad row shown, label sheets, and the impact of what was given."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.lag_tolerant import LAG_TOLERANT
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body
from devicetrack.config import Settings
from devicetrack.devices import intake_rows
from devicetrack.devices import service as devices
from devicetrack.devices.values import Carrier, Condition, DeviceKind
from devicetrack.donations import service as donations
from devicetrack.donations.schemas import DonationCreate
from devicetrack.errors import DomainError, FieldError, ValidationFailed, foreign, msgspec_path
from devicetrack.i18n import N_
from devicetrack.labels.responses import sheet_response
from devicetrack.labels.schemas import LabelSheetRequest
from devicetrack.labels.templates import TEMPLATES
from devicetrack.labels.values import TemplateName
from devicetrack.regions import service as regions
from devicetrack.reports import service as reports
from devicetrack.web.forms import Form, attempt
from devicetrack.web.navigation import done
from devicetrack.web.render import page, translator

# The one-device form has every intake column but the warranty date.
ONE_DEVICE_FIELDS = tuple(c for c in intake_rows.COLUMNS if c != "warranty_until")


# Lines of the new-donation form's pledge table (kind, quantity, model).
PLEDGE_ROWS = 4
# Devices listed per page (a donation may hold tens of thousands); "More" goes on.
PAGE_SIZE = 100


class DonorPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/donor", opt=LAG_TOLERANT)
    async def donor_home(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        donor: int | None = None,
    ) -> Response[Any]:
        """A donor's own page; province officers and admins may open any donor's."""
        return await self._donor_page(request, tx, principal, donor)

    async def _donor_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        donor: int | None,
        *,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        donor_id = donations.followed_donor(principal, donor)
        rows = await donations.list_donations(
            tx, principal, donor_id=donor_id, province=None, after_id=None, limit=500
        )
        impact = await reports.donor_impact(tx, principal, donor_id) if donor_id else None
        by_status: dict[str, int] = {}
        for statuses in impact.by_kind_status.values() if impact else []:
            for status, n in statuses.items():
                by_status[status] = by_status.get(status, 0) + n
        t = translator(request, principal)
        bars = [(t.word(s), float(n)) for s, n in sorted(by_status.items(), key=lambda i: -i[1])]
        # The new-donation form (a donor's own) picks the province the devices go to.
        provinces = (
            [(p.code, p.name) for p, _ in await regions.list_provinces(tx)]
            if donations.own_donor(principal) is not None
            else []
        )
        return page(
            request,
            "donor.html",
            principal,
            donations=rows,
            impact=impact,
            by_status=by_status,
            status_bars=bars,
            provinces=provinces,
            kinds=DeviceKind,
            pledge_rows=range(PLEDGE_ROWS),
            error=error,
            values=values or {},
        )

    @post("/donor/donations")
    async def new_donation(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal
    ) -> Response[Any]:
        """A donor logs a contribution: where it goes, its reference and what is pledged."""
        donor_id = donations.ensure_own_donor(principal)
        form = await Form.of(request)
        province = form.text("province_code", required=True, max_length=2)
        reference = form.text("reference", required=True, max_length=100)
        received_on = form.day("received_on")
        note = form.text("note", max_length=2000)
        lines = []
        for i in range(PLEDGE_ROWS):
            kind = form.choice(f"kind_{i}", DeviceKind)
            quantity = form.integer(f"quantity_{i}", low=1, high=1_000_000)
            model = form.text(f"model_{i}", max_length=200)
            if kind and quantity:
                lines.append({"kind": kind, "quantity": quantity, "model": model})
            elif kind or quantity or model:
                # Half a line is a mistake to show, not a pledge to drop silently.
                missing = f"quantity_{i}" if kind else f"kind_{i}"
                form.errors.append(FieldError(field=missing, message=N_("required")))
        result: Any = form.refusal()
        if result is None:
            try:
                # Converted, not constructed: the body's own rules (province code, lengths).
                data = msgspec.convert(
                    {
                        "donor_id": donor_id,
                        "province_code": province,
                        "reference": reference,
                        "received_on": received_on,
                        "note": note,
                        "pledged": lines,
                    },
                    DonationCreate,
                )
            except msgspec.ValidationError as exc:
                path = msgspec_path(str(exc))
                result = ValidationFailed(
                    N_("Some fields need another look."),
                    errors=[
                        FieldError(
                            field=path.split("[")[0] if path else None,
                            message=foreign(str(exc).split(" - at ")[0]),
                        )
                    ],
                )
            else:
                result = await attempt(tx, lambda: donations.create_donation(tx, principal, data))
        if isinstance(result, DomainError):
            return await self._donor_page(
                request, tx, principal, None, error=result, values=form.values
            )
        return done(f"/donations/{result.id}", "Saved.")

    @get("/donations/{donation_id:int}")
    async def donation(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        donation_id: int,
        after: int | None = None,
    ) -> Response[Any]:
        return await self._donation_page(request, tx, principal, donation_id, after=after)

    async def _donation_page(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        donation_id: int,
        *,
        after: int | None = None,
        error: DomainError | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        donation = await donations.read_donation(tx, principal, donation_id)
        where = devices.device_filters(principal, donation=donation_id)
        rows = await devices.list_devices(tx, principal, where, after_id=after, limit=PAGE_SIZE + 1)
        return page(
            request,
            "donation.html",
            principal,
            donation=donation,
            devices=rows[:PAGE_SIZE],
            more=rows[PAGE_SIZE].id if len(rows) > PAGE_SIZE else None,
            kinds=DeviceKind,
            conditions=Condition,
            carriers=Carrier,
            templates=[(name, TEMPLATES[name].title) for name in sorted(TEMPLATES)],
            error=error,
            values=values or {},
        )

    @post("/donations/{donation_id:int}/devices")
    async def register_one(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        donation_id: int,
    ) -> Response[Any]:
        form = await Form.of(request)
        # Read, converted and checked as one row of an upload is (the intake's own rules).
        row = {name: form.text(name, max_length=None) for name in ONE_DEVICE_FIELDS}
        row = {k: v for k, v in row.items() if v is not None}
        result = await attempt(
            tx, lambda: donations.intake_devices(tx, principal, donation_id, [(1, row)], "create")
        )
        if isinstance(result, DomainError):
            return await self._donation_page(
                request, tx, principal, donation_id, error=result, values=form.values
            )
        tags = getattr(result, "asset_tags", [])
        return done(
            f"/devices/{tags[0]}" if tags else f"/donations/{donation_id}", "Device registered."
        )

    @post(
        "/donations/{donation_id:int}/upload",
        request_max_body_size=None,  # Settings.max_upload_bytes, by limit_upload_body
        middleware=[limit_upload_body],
        after_response=after_upload,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
        donation_id: int,
    ) -> Response[Any]:
        """All or nothing, as in the API: every bad row is listed and no device is added."""
        await donations.get_donation(tx, principal, donation_id)
        form = await Form.of(request)
        upload = form.file("file")

        async def run() -> Any:
            if upload is None:
                raise ValidationFailed(N_("Choose a CSV or Excel file."), errors=form.errors)
            rows = await donations.intake_table(
                upload[0], upload[1], "create", UploadLimits.of(settings)
            )
            try:
                return await donations.intake_devices(tx, principal, donation_id, rows, "create")
            finally:
                await rows.release()

        result = await attempt(tx, run)
        if isinstance(result, DomainError):
            return await self._donation_page(request, tx, principal, donation_id, error=result)
        return done(f"/donations/{donation_id}", "{n} devices registered.", n=result.created)

    @post("/donations/{donation_id:int}/labels", status_code=200)
    async def print_labels(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        donation_id: int,
    ) -> Stream:
        form = await Form.of(request)
        template = form.choice("template", TemplateName, required=True)
        skip = form.integer("skip", high=1000) or 0
        copies = form.integer("copies", low=1, high=100) or 1
        form.check()
        assert template is not None  # form.check() has refused a missing or unknown template
        data = LabelSheetRequest(
            template=template,
            donation_id=donation_id,
            skip=skip,
            copies=copies,
        )
        await donations.get_donation(tx, principal, donation_id)
        return await sheet_response(
            request, tx, principal, data, f"labels-donation-{donation_id}.pdf"
        )

"""Labels for devices and pre-printed batches: which labels a request names (scope-checked,
at most `max_labels_per_request` of them: 413 beyond) and the rendering run off the event
loop (a large sheet is CPU work), page by page into a temporary file."""

from __future__ import annotations

from typing import IO

from sqlalchemy import Text, any_, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations.models import AllocationDevice
from devicetrack.auth.principal import Principal
from devicetrack.common.heavy import HeavyWork
from devicetrack.common.links import device_link
from devicetrack.devices import service as devices
from devicetrack.devices.models import Device
from devicetrack.donations import service as donations
from devicetrack.donors.models import Donor
from devicetrack.errors import DomainError, FieldError, ValidationFailed
from devicetrack.i18n import N_
from devicetrack.labels import code128, render
from devicetrack.labels.schemas import LabelSheetRequest
from devicetrack.regions.models import Province


class TooManyLabels(DomainError):
    status, kind, title = 413, "too-many-labels", N_("Too many labels for one sheet")


def _too_many(max_labels: int, requested: int, copies: int) -> TooManyLabels:
    return TooManyLabels(
        N_(
            "One sheet holds at most {max} labels (devices × copies); this one would "
            "have {requested}. Narrow the filter, print fewer copies, or print it in parts."
        ),
        errors=[FieldError(field="copies" if copies > 1 else "asset_tags", message=N_("too many"))],
        extra={"max_labels": max_labels, "requested": requested},
        max=max_labels,
        requested=requested,
    )


async def _names(session: AsyncSession) -> tuple[dict[str, str], dict[int, str]]:
    programmes = {
        c: p for c, p in await session.execute(select(Province.code, Province.programme_name))
    }
    donors = {
        i: n for i, n in await session.execute(select(Donor.id, Donor.short_name)) if i is not None
    }
    return programmes, donors


async def device_label(
    session: AsyncSession, principal: Principal, code: str, public_url: str
) -> render.LabelData:
    """One device's label; its QR links to `public_url`/d/{tag}."""
    device = await devices.get_device(session, principal, code)
    # One label needs one programme and one donor name, not the whole tables (_names is for
    # sheets of many labels).
    programme = await session.scalar(
        select(Province.programme_name).where(Province.code == device.province_code)
    )
    donor = await session.scalar(select(Donor.short_name).where(Donor.id == device.donor_id))
    return render.LabelData(
        tag=device.asset_tag,
        programme=programme or "",
        donor=donor or "",
        kind=device.kind,
        link=device_link(public_url, device.asset_tag),
    )


async def sheet_labels(
    session: AsyncSession,
    principal: Principal,
    data: LabelSheetRequest,
    max_labels: int,
    public_url: str,
) -> list[render.LabelData]:
    """The labels a request names, each with its QR link under `public_url`;
    TooManyLabels (413) when devices × copies would pass `max_labels`, before anything is
    rendered."""
    programmes, donors = await _names(session)
    if data.label_batch is not None:
        tags = await donations.batch_tags(session, principal, data.label_batch)
        if len(tags) * data.copies > max_labels:
            raise _too_many(max_labels, len(tags) * data.copies, data.copies)
        province = tags[0][2:4] if tags else ""
        return [
            render.LabelData(
                tag=t,
                programme=programmes.get(province, ""),
                donor="",
                kind="",
                link=device_link(public_url, t),
            )
            for t in tags
        ]
    where = devices.device_filters(
        principal, kind=data.kind, donation=data.donation_id, school=data.school_id
    )
    if data.asset_tags:
        tags = [devices.canonical_tag(t) for t in data.asset_tags]
        where.append(Device.asset_tag == any_(cast(tags, ARRAY(Text))))
    if data.allocation_id is not None:
        where.append(
            Device.id.in_(
                select(AllocationDevice.device_id).where(
                    AllocationDevice.allocation_id == data.allocation_id
                )
            )
        )
    if not (
        data.asset_tags or data.donation_id or data.school_id or data.allocation_id or data.kind
    ):
        raise ValidationFailed(
            N_(
                "Name the labels: asset_tags, donation_id, allocation_id, school_id, label_batch "
                "or kind."
            ),
            errors=[FieldError(field="asset_tags", message=N_("no filter given"))],
        )
    devices_allowed = max_labels // data.copies
    rows = await session.execute(
        select(Device.asset_tag, Device.province_code, Device.donor_id, Device.kind)
        .where(*where)
        .order_by(Device.asset_tag)
        .limit(devices_allowed + 1)
    )
    labels = [
        render.LabelData(
            tag=t,
            programme=programmes.get(p, ""),
            donor=donors.get(d, ""),
            kind=k,
            link=device_link(public_url, t),
        )
        for t, p, d, k in rows
    ]
    if len(labels) > devices_allowed:
        matching = await session.scalar(select(func.count()).select_from(Device).where(*where))
        raise _too_many(max_labels, int(matching or 0) * data.copies, data.copies)
    if not labels:
        raise ValidationFailed(
            N_("No device you can see matches; nothing to print."),
            errors=[FieldError(field="asset_tags", message=N_("no matching devices"))],
        )
    return labels


def refuse(exc: render.LabelError) -> ValidationFailed:
    message = exc.args[0]  # its message with its values (str(exc) would be the bare id)
    return ValidationFailed(message, errors=[FieldError(field=exc.field, message=message)])


def check_options(template: str, skip: int, copies: int, labels: list[render.LabelData]) -> None:
    """Everything that could fail while rendering is checked before the response starts,
    so a bad request gets a problem+json 4xx, never a broken PDF."""
    try:
        t = render.check_sheet_options(template, skip, copies)
        # A barcode's width depends only on where the tag has digits (Code 128 packs digit
        # runs the same way whatever the digits), so one encoding per shape checks them
        # all: encoding every tag here doubled the cost of a large sheet.
        checked: set[str] = set()
        for label in labels:
            shape = render.tag_shape(label.tag)
            if shape not in checked:
                checked.add(shape)
                render.module_width(t, code128.bars(label.tag)[0])
    except render.LabelError as exc:
        raise refuse(exc) from None


async def pdf_file(
    heavy: HeavyWork, labels: list[render.LabelData], template: str, skip: int, copies: int
) -> IO[bytes]:
    """Render in a worker process (one of the heavy-work slots) into a temporary file,
    page by page: the event loop stays free and memory stays flat however many labels
    there are."""
    return await heavy.file(".pdf", render.sheet_pdf_file, labels, template, skip, copies)

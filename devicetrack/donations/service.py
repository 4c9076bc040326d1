"""Donations, their pledged lines and reconciliation, label batches, and the entry point
of bulk intake (scope checks here; the bulk work in devices.intake)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio.to_thread
from msgspec import UNSET
from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import can_see_donation
from devicetrack.common.convert import given
from devicetrack.common.dates import check_event_dates
from devicetrack.common.tabular import Rows, UploadLimits, parse_table
from devicetrack.devices import intake, intake_rows
from devicetrack.devices.tags import format_tag
from devicetrack.donations import repository as repo
from devicetrack.donations.models import Donation, LabelBatch
from devicetrack.donations.repository import visible_donations
from devicetrack.donations.schemas import (
    DonationCreate,
    DonationRead,
    DonationSummary,
    DonationUpdate,
    KindReconciliation,
    LabelBatchCreate,
    LabelBatchDetail,
    LabelBatchRead,
    PledgedLineIn,
    PledgedLineRead,
)
from devicetrack.donors import repository as donors
from devicetrack.donors import service as donors_service
from devicetrack.donors.schemas import DonorRead, DonorUpdate
from devicetrack.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from devicetrack.i18n import N_
from devicetrack.regions import repository as regions
from devicetrack.webhooks import service as webhooks


def _lines(pledged: list[PledgedLineIn]) -> list[dict[str, Any]]:
    return [{"kind": p.kind, "quantity": p.quantity, "model": p.model} for p in pledged]


async def _read(session: AsyncSession, donation: Donation) -> DonationRead:
    assert donation.id is not None and donation.created_at is not None
    lines = await repo.lines_of(session, donation.id)
    received = await repo.received_by_kind(session, donation.id)
    pledged_by_kind: dict[str, int] = {}
    for line in lines:
        pledged_by_kind[line.kind] = pledged_by_kind.get(line.kind, 0) + line.quantity
    kinds = sorted(set(pledged_by_kind) | set(received))
    return DonationRead(
        id=donation.id,
        donor_id=donation.donor_id,
        donor_name=await repo.donor_name(session, donation.donor_id),
        province_code=donation.province_code,
        reference=donation.reference,
        received_on=donation.received_on,
        note=donation.note,
        created_at=donation.created_at,
        pledged=[PledgedLineRead(kind=x.kind, quantity=x.quantity, model=x.model) for x in lines],
        received={k: received.get(k, 0) for k in kinds},
        reconciliation=[
            KindReconciliation(
                kind=k,
                pledged=pledged_by_kind.get(k, 0),
                received=received.get(k, 0),
                outstanding=max(0, pledged_by_kind.get(k, 0) - received.get(k, 0)),
            )
            for k in kinds
        ],
    )


async def get_donation(session: AsyncSession, principal: Principal, donation_id: int) -> Donation:
    donation = await repo.get_donation(session, donation_id)
    if donation is None or not can_see_donation(
        principal, donation.donor_id, donation.province_code
    ):
        raise NotFound(N_("No donation {id}."), id=donation_id)
    return donation


async def read_donation(
    session: AsyncSession, principal: Principal, donation_id: int
) -> DonationRead:
    return await _read(session, await get_donation(session, principal, donation_id))


def _ensure_can_log(principal: Principal, donor_id: int, province_code: str) -> None:
    if principal.is_admin:
        return
    if principal.is_donor and principal.donor_id == donor_id:
        return
    if principal.is_province_officer and principal.province_code == province_code:
        return
    if principal.is_donor or principal.is_province_officer:
        raise Forbidden(N_("You can log donations only for your own donor or province."))
    raise Forbidden(N_("Your role cannot log donations."))


def followed_donor(principal: Principal, asked: int | None) -> int | None:
    """Whose donations and impact a donor's view follows: a donor's own; province officers
    and admins the donor they ask for (None: every donation they see). School staff none."""
    if principal.is_school_staff:
        raise Forbidden(N_("Donations are followed by donors and the province."))
    return principal.donor_id if principal.is_donor else asked


def own_donor(principal: Principal) -> int | None:
    """The donor a caller logs donations for on the donor's own page: a donor's own; None for
    everyone else (the province logs them through the API)."""
    return principal.donor_id if principal.is_donor else None


def ensure_own_donor(principal: Principal) -> int:
    donor_id = own_donor(principal)
    if donor_id is None:
        raise Forbidden(N_("Donors log their donations here; the province uses the API."))
    return donor_id


async def create_donation(
    session: AsyncSession, principal: Principal, data: DonationCreate
) -> DonationRead:
    _ensure_can_log(principal, data.donor_id, data.province_code)
    check_event_dates(received_on=data.received_on)
    if await donors.get_donor(session, data.donor_id) is None:
        raise ValidationFailed(
            N_("Unknown donor."),
            errors=[FieldError(field="donor_id", message=N_("does not exist"))],
        )
    if await regions.get_province(session, data.province_code) is None:
        raise ValidationFailed(
            N_("Unknown province."),
            errors=[FieldError(field="province_code", message=N_("does not exist"))],
        )
    donation = Donation(
        donor_id=data.donor_id,
        province_code=data.province_code,
        reference=data.reference.strip(),
        received_on=data.received_on,
        note=data.note,
        created_by=principal.user_id or None,
    )
    try:
        async with session.begin_nested():
            await repo.add_donation(session, donation)
    except IntegrityError as exc:
        if "uq_donations_donor_id_reference" in str(exc.orig):
            raise Conflict(
                N_("This donor already has a donation with this reference."),
                errors=[FieldError(field="reference", message=N_("already used by this donor"))],
            ) from None
        raise
    assert donation.id is not None
    lines = _lines(data.pledged)
    await repo.replace_lines(session, donation.id, lines)
    await webhooks.donation_created(
        session,
        donation_id=donation.id,
        donor_id=donation.donor_id,
        province_code=donation.province_code,
        reference=donation.reference,
        received_on=donation.received_on,
        pledged=lines,
    )
    return await _read(session, donation)


async def update_donation(
    session: AsyncSession, principal: Principal, donation_id: int, data: DonationUpdate
) -> DonationRead:
    donation = await get_donation(session, principal, donation_id)
    _ensure_can_log(principal, donation.donor_id, donation.province_code)
    changes = given(data)
    check_event_dates(received_on=changes.get("received_on"))
    if data.reference is not UNSET:
        donation.reference = data.reference.strip()
    if data.received_on is not UNSET:
        donation.received_on = data.received_on
    if data.note is not UNSET:
        donation.note = data.note
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            N_("This donor already has a donation with this reference."),
            errors=[FieldError(field="reference", message=N_("already used by this donor"))],
        ) from None
    if data.pledged is not UNSET:
        assert donation.id is not None
        await repo.replace_lines(session, donation.id, _lines(data.pledged))
    return await _read(session, donation)


async def list_donations(
    session: AsyncSession,
    principal: Principal,
    *,
    donor_id: int | None,
    province: str | None,
    after_id: int | None,
    limit: int,
) -> list[DonationSummary]:
    where: list[ColumnElement[bool]] = [visible_donations(principal)]
    if donor_id is not None:
        where.append(Donation.donor_id == donor_id)
    if province:
        where.append(Donation.province_code == province)
    rows = await repo.list_donations(session, where=where, after_id=after_id, limit=limit)
    return [
        DonationSummary(
            id=d.id or 0,
            donor_id=d.donor_id,
            donor_name=name,
            province_code=d.province_code,
            reference=d.reference,
            received_on=d.received_on,
            pledged_total=p,
            received_total=r,
        )
        for d, name, p, r in rows
    ]


async def intake_devices(
    session: AsyncSession,
    principal: Principal,
    donation_id: int,
    rows: Sequence[tuple[int, Mapping[str, object]]],
    mode: str,
) -> intake.IntakeResult | intake.UpdateResult:
    donation = await get_donation(session, principal, donation_id)
    _ensure_can_log(principal, donation.donor_id, donation.province_code)
    if not rows:
        raise ValidationFailed(
            N_("No devices in the request."), errors=[FieldError(message=N_("empty"))]
        )
    assert donation.id is not None
    if mode == "update":
        return await intake.update_devices(
            session, principal, donation_id=donation.id, actor_id=principal.user_id, rows=rows
        )
    return await intake.register_devices(
        session,
        principal,
        donation_id=donation.id,
        donor_id=donation.donor_id,
        province=donation.province_code,
        actor_id=principal.user_id,
        rows=rows,
    )


async def intake_table(
    data: bytes, filename: str | None, mode: str, limits: UploadLimits
) -> Rows[str]:
    """The rows of an intake upload (CSV or XLSX, read in a worker) for `intake_devices`:
    every intake column with `kind` required, or for `mode=update` the columns an update may
    change with `asset_tag` required. The caller releases the rows when done."""
    columns = intake_rows.UPDATE_COLUMNS if mode == "update" else intake_rows.COLUMNS
    aliases = {k: v for k, v in intake_rows.ALIASES.items() if v in columns}
    required = {"asset_tag"} if mode == "update" else {"kind"}
    table = await parse_table(data, filename, aliases, required, limits)
    return table.rows


def _batch_tags(batch: LabelBatch) -> list[str]:
    return [format_tag(batch.province_code, batch.first_sequence + i) for i in range(batch.count)]


async def create_label_batch(
    session: AsyncSession, principal: Principal, data: LabelBatchCreate
) -> LabelBatchRead:
    if not (
        principal.is_admin
        or (principal.is_province_officer and principal.province_code == data.province_code)
    ):
        raise Forbidden(N_("Province officers reserve labels for their own province."))
    if await regions.get_province(session, data.province_code) is None:
        raise ValidationFailed(
            N_("Unknown province."),
            errors=[FieldError(field="province_code", message=N_("unknown"))],
        )
    conn = await intake.raw_connection(session)
    first = await intake.take_sequences(conn, data.province_code, data.count)
    batch = await repo.add_label_batch(
        session,
        LabelBatch(
            province_code=data.province_code,
            first_sequence=first,
            count=data.count,
            note=data.note,
            created_by=principal.user_id,
        ),
    )
    return _batch_read(batch, 0)


def _batch_read(batch: LabelBatch, bound: int) -> LabelBatchRead:
    assert batch.id is not None and batch.created_at is not None
    return LabelBatchRead(
        id=batch.id,
        province_code=batch.province_code,
        count=batch.count,
        first_tag=format_tag(batch.province_code, batch.first_sequence),
        last_tag=format_tag(batch.province_code, batch.first_sequence + batch.count - 1),
        bound=bound,
        note=batch.note,
        created_at=batch.created_at,
    )


def _ensure_batch_visible(
    principal: Principal, batch: LabelBatch | None, batch_id: int
) -> LabelBatch:
    if batch is None or not (
        principal.is_admin
        or (principal.is_province_officer and principal.province_code == batch.province_code)
    ):
        raise NotFound(N_("No label batch {id}."), id=batch_id)
    return batch


async def get_label_batch(
    session: AsyncSession, principal: Principal, batch_id: int
) -> LabelBatchDetail:
    batch = _ensure_batch_visible(
        principal, await repo.get_label_batch(session, batch_id), batch_id
    )
    # 100,000 tags take a few tenths of a second to spell out: not on the event loop.
    tags = await anyio.to_thread.run_sync(_batch_tags, batch)
    bound = await repo.bound_tags(session, batch.province_code, batch.first_sequence, batch.count)
    assert batch.id is not None and batch.created_at is not None
    return LabelBatchDetail(
        id=batch.id,
        province_code=batch.province_code,
        count=batch.count,
        bound=len(bound),
        tags=tags,
        bound_tags=bound,
        created_at=batch.created_at,
    )


async def batch_tags(session: AsyncSession, principal: Principal, batch_id: int) -> list[str]:
    """The tags of a batch, for printing labels before devices exist."""
    batch = _ensure_batch_visible(
        principal, await repo.get_label_batch(session, batch_id), batch_id
    )
    return _batch_tags(batch)


async def list_label_batches(
    session: AsyncSession, principal: Principal, *, after_id: int | None, limit: int
) -> list[LabelBatchRead]:
    if principal.is_admin:
        where: list[ColumnElement[bool]] = []
    elif principal.is_province_officer:
        where = [LabelBatch.province_code == principal.province_code]
    else:
        raise Forbidden(N_("Only province officers and admins manage label batches."))
    batches = await repo.list_label_batches(session, where=where, after_id=after_id, limit=limit)
    result = []
    for batch in batches:
        bound = await repo.count_bound(
            session, batch.province_code, batch.first_sequence, batch.count
        )
        result.append(_batch_read(batch, bound))
    return result


async def _gives_elsewhere(session: AsyncSession, principal: Principal, donor_id: int) -> bool:
    """The register is shared: a donor that gives in other provinces too is kept by admins
    and itself, not by one province's officer (donors.service.ensure_may_edit decides)."""
    return principal.is_province_officer and await repo.gives_outside(
        session, donor_id, principal.province_code or ""
    )


async def update_donor(
    session: AsyncSession, principal: Principal, donor_id: int, data: DonorUpdate
) -> DonorRead:
    elsewhere = await _gives_elsewhere(session, principal, donor_id)
    return await donors_service.update_donor(
        session, principal, donor_id, data, gives_elsewhere=elsewhere
    )


async def donor_to_edit(session: AsyncSession, principal: Principal, donor_id: int) -> DonorRead:
    """A donor's record for the register's edit form: 404 for a donor the caller cannot
    see, 403 for a role that keeps no register or a donor the caller may not edit."""
    donors_service.ensure_registrar(principal)
    donor = await donors_service.get_donor(session, principal, donor_id)
    elsewhere = await _gives_elsewhere(session, principal, donor_id)
    donors_service.ensure_may_edit(principal, gives_elsewhere=elsewhere)
    return donors_service.donor_read(donor)

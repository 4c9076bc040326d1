"""Donor organisations. Admins and province officers keep the register; a donor user
reads and edits its own record only."""

from __future__ import annotations

from msgspec import UNSET
from sqlalchemy import ColumnElement, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.convert import given
from devicetrack.db.search import folded_contains
from devicetrack.donors import repository as repo
from devicetrack.donors.models import Donor
from devicetrack.donors.schemas import DonorCreate, DonorRead, DonorUpdate
from devicetrack.errors import Conflict, FieldError, Forbidden, NotFound
from devicetrack.i18n import N_


def donor_read(donor: Donor) -> DonorRead:
    assert donor.id is not None and donor.created_at is not None
    return DonorRead(
        id=donor.id,
        name=donor.name,
        short_name=donor.short_name,
        kind=donor.kind,
        contact_name=donor.contact_name,
        contact_email=donor.contact_email,
        contact_phone=donor.contact_phone,
        country=donor.country,
        created_at=donor.created_at,
    )


def _ensure_registrar(principal: Principal) -> None:
    if not (principal.is_admin or principal.is_province_officer):
        raise Forbidden(N_("Only province officers and admins register donors."))


def _duplicate_name(exc: IntegrityError) -> Conflict | None:
    if "uq_donors_name" in str(exc.orig):
        return Conflict(
            N_("A donor with this name exists."),
            errors=[FieldError(field="name", message=N_("already registered"))],
        )
    return None


async def get_donor(session: AsyncSession, principal: Principal, donor_id: int) -> Donor:
    donor = await repo.get_donor(session, donor_id)
    if donor is None or (principal.is_donor and principal.donor_id != donor_id):
        raise NotFound(N_("No donor {id}."), id=donor_id)
    return donor


async def list_donors(
    session: AsyncSession,
    principal: Principal,
    *,
    q: str | None,
    kind: str | None,
    after_id: int | None,
    limit: int,
) -> list[DonorRead]:
    where: list[ColumnElement[bool]] = []
    if principal.is_donor:
        where.append(Donor.id == principal.donor_id)
    if kind:
        where.append(Donor.kind == kind)
    if q:
        where.append(or_(folded_contains(Donor.name, q), folded_contains(Donor.short_name, q)))
    rows = await repo.list_donors(session, where=where, after_id=after_id, limit=limit)
    return [donor_read(d) for d in rows]


async def create_donor(session: AsyncSession, principal: Principal, data: DonorCreate) -> DonorRead:
    _ensure_registrar(principal)
    donor = Donor(
        name=data.name.strip(),
        short_name=data.short_name.strip(),
        kind=data.kind,
        contact_name=data.contact_name,
        contact_email=data.contact_email,
        contact_phone=data.contact_phone,
        country=data.country,
    )
    try:
        async with session.begin_nested():
            await repo.add_donor(session, donor)
    except IntegrityError as exc:
        raise (_duplicate_name(exc) or exc) from None
    return donor_read(donor)


async def update_donor(
    session: AsyncSession,
    principal: Principal,
    donor_id: int,
    data: DonorUpdate,
    *,
    gives_elsewhere: bool,
) -> DonorRead:
    """`gives_elsewhere`: the donor has a donation outside the caller's province (asked of
    donations/, which sits above donors/: donations.service.update_donor)."""
    donor = await get_donor(session, principal, donor_id)
    if not (principal.is_donor or principal.is_admin or principal.is_province_officer):
        raise Forbidden(N_("Your role cannot edit donors."))
    if principal.is_province_officer and gives_elsewhere:
        # The register is shared; a donor that gives elsewhere is kept by admins and itself.
        raise Forbidden(N_("This donor also gives to other provinces; ask an administrator."))
    if principal.is_donor and data.kind is not UNSET and data.kind != donor.kind:
        raise Forbidden(N_("A donor cannot change its own kind."))
    for name, value in given(data).items():
        # Stripped as on create, so a trailing space does not make a "new" name.
        setattr(donor, name, value.strip() if name in ("name", "short_name") else value)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise (_duplicate_name(exc) or exc) from None
    return donor_read(donor)


async def delete_donor(session: AsyncSession, principal: Principal, donor_id: int) -> None:
    if not principal.is_admin:
        raise Forbidden(N_("Only an administrator removes donors."))
    donor = await get_donor(session, principal, donor_id)
    try:
        async with session.begin_nested():
            await repo.delete_donor(session, donor)
    except IntegrityError:
        raise Conflict(N_("The donor has donations or users; it cannot be removed.")) from None

"""What the printed records need beyond the domains' reads: device details, names of
places and people, the history that proves a retirement and a wipe. The caller has
checked the record's scope already (paper/service.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations.models import Allocation, AllocationDevice
from devicetrack.auth.models import User
from devicetrack.devices.models import Device, DeviceEvent
from devicetrack.donations.models import Donation
from devicetrack.donors.models import Donor
from devicetrack.regions.models import Commune, Province
from devicetrack.schools.models import School
from devicetrack.students.models import Assignment


async def place_of_school(session: AsyncSession, school_id: int) -> Any:
    """(school name, school code, commune name, province name, programme name)."""
    return (
        await session.execute(
            select(School.name, School.code, Commune.name, Province.name, Province.programme_name)
            .join(Commune, Commune.code == School.commune_code)
            .join(Province, Province.code == School.province_code)
            .where(School.id == school_id)
        )
    ).one()


async def province_names(session: AsyncSession, code: str) -> Any:
    """(province name, programme name)."""
    return (
        await session.execute(
            select(Province.name, Province.programme_name).where(Province.code == code)
        )
    ).one()


async def user_name(session: AsyncSession, user_id: int | None) -> str:
    if user_id is None:
        return ""
    return str(await session.scalar(select(User.full_name).where(User.id == user_id)) or "")


async def allocation_devices(session: AsyncSession, allocation_id: int) -> list[Any]:
    """(asset_tag, kind, make, model, serial, imei, condition, donor, donation reference),
    by tag."""
    rows = await session.execute(
        select(
            Device.asset_tag,
            Device.kind,
            Device.make,
            Device.model,
            Device.serial,
            Device.imei,
            Device.condition,
            Donor.short_name,
            Donation.reference,
        )
        .join(AllocationDevice, AllocationDevice.device_id == Device.id)
        .join(Donor, Donor.id == Device.donor_id)
        .join(Donation, Donation.id == Device.donation_id)
        .where(AllocationDevice.allocation_id == allocation_id)
        .order_by(Device.asset_tag)
    )
    return list(rows)


async def allocation_creator(session: AsyncSession, allocation_id: int) -> int | None:
    return await session.scalar(select(Allocation.created_by).where(Allocation.id == allocation_id))


async def loan_facts(session: AsyncSession, assignment_id: int) -> Any:
    """(lent by, make, model, serial, imei, donor) of a loan's device."""
    return (
        await session.execute(
            select(
                Assignment.assigned_by,
                Device.make,
                Device.model,
                Device.serial,
                Device.imei,
                Donor.short_name,
            )
            .join(Device, Device.id == Assignment.device_id)
            .join(Donor, Donor.id == Device.donor_id)
            .where(Assignment.id == assignment_id)
        )
    ).one()


async def donor_of(session: AsyncSession, device: Device) -> Any:
    """(donor name, donation reference, received on) of a device."""
    return (
        await session.execute(
            select(Donor.name, Donation.reference, Donation.received_on)
            .join(Donation, Donation.donor_id == Donor.id)
            .where(Donation.id == device.donation_id)
        )
    ).one()


async def retirement(session: AsyncSession, device_id: int) -> Any:
    """The device's last `retired` event: (at, actor's name, school, note, data)."""
    return (
        await session.execute(
            select(
                DeviceEvent.at,
                User.full_name,
                DeviceEvent.school_id,
                DeviceEvent.note,
                DeviceEvent.data,
            )
            .outerjoin(User, User.id == DeviceEvent.actor_id)
            .where(DeviceEvent.device_id == device_id, DeviceEvent.action == "retired")
            .order_by(DeviceEvent.id.desc())
            .limit(1)
        )
    ).one_or_none()


async def last_wipe(session: AsyncSession, device_id: int) -> tuple[datetime, str] | None:
    """When the device was last reset and by whom: a `wiped` event, or a return whose
    device came back reset."""
    row = (
        await session.execute(
            select(DeviceEvent.at, User.full_name)
            .outerjoin(User, User.id == DeviceEvent.actor_id)
            .where(
                DeviceEvent.device_id == device_id,
                or_(
                    DeviceEvent.action == "wiped",
                    (DeviceEvent.action == "returned")
                    & (func.jsonb_extract_path_text(DeviceEvent.data, "wiped") == "true"),
                ),
            )
            .order_by(DeviceEvent.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]

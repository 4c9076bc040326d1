"""Scope rules: which schools (and so which of their objects) a caller may see or change.

Every repository query that returns school-owned rows filters by `visible_schools`, and
every single-object read goes through `ensure_school_visible`, so an out-of-scope object
answers 404 exactly like a missing one (no existence leak)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from devicetrack.auth.principal import Principal
from devicetrack.errors import Forbidden, NotFound
from devicetrack.schools.models import School


def visible_schools(principal: Principal) -> ColumnElement[bool]:
    if principal.is_admin:
        return true()
    if principal.is_province_officer:
        return School.province_code == principal.province_code
    if principal.is_school_staff and principal.school_ids:
        return School.id.in_(sorted(principal.school_ids))  # type: ignore[union-attr]
    # Donors follow devices, not schools: they reach schools through reports only.
    return false()


def can_see_school(principal: Principal, school: School) -> bool:
    if principal.is_admin:
        return True
    if principal.is_province_officer:
        return school.province_code == principal.province_code
    if principal.is_school_staff:
        return school.id in principal.school_ids
    return False


def ensure_school_visible(principal: Principal, school: School | None, what: str) -> School:
    if school is None or not can_see_school(principal, school):
        raise NotFound(f"No {what}.")
    return school


def ensure_can_manage_registry(principal: Principal, province_code: str) -> None:
    """Creating or changing schools: admins anywhere, province officers in their province."""
    if principal.is_admin:
        return
    if principal.is_province_officer:
        if province_code != principal.province_code:
            raise Forbidden("You manage schools of your own province only.")
        return
    raise Forbidden("Only province officers and admins manage the school registry.")


def ensure_can_edit_enrolment(principal: Principal, school: School) -> None:
    if principal.is_admin or principal.is_province_officer:
        return
    if principal.is_school_staff and school.id in principal.school_ids:
        return
    raise Forbidden("Your role cannot change enrolments.")


def visible_donations(principal: Principal) -> ColumnElement[bool]:
    from devicetrack.donations.models import Donation

    if principal.is_admin:
        return true()
    if principal.is_province_officer:
        return Donation.province_code == principal.province_code
    if principal.is_donor:
        return Donation.donor_id == principal.donor_id
    return false()


def can_see_donation(principal: Principal, donor_id: int, province_code: str) -> bool:
    if principal.is_admin:
        return True
    if principal.is_province_officer:
        return province_code == principal.province_code
    if principal.is_donor:
        return donor_id == principal.donor_id
    return False


def visible_devices(principal: Principal) -> ColumnElement[bool]:
    from devicetrack.devices.models import Device

    if principal.is_admin:
        return true()
    if principal.is_province_officer:
        return Device.province_code == principal.province_code
    if principal.is_school_staff and principal.school_ids:
        return Device.school_id.in_(sorted(principal.school_ids))  # type: ignore[union-attr]
    if principal.is_donor:
        return Device.donor_id == principal.donor_id
    return false()


def can_see_device(
    principal: Principal, province_code: str, school_id: int | None, donor_id: int
) -> bool:
    if principal.is_admin:
        return True
    if principal.is_province_officer:
        return province_code == principal.province_code
    if principal.is_school_staff:
        return school_id is not None and school_id in principal.school_ids
    if principal.is_donor:
        return donor_id == principal.donor_id
    return False

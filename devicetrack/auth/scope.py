"""Scope rules: which rows a caller may see or change, decided from the principal alone.

auth/ knows no domain's tables. A domain states which of its columns carry a row's owners
(province, school, donor) and asks `restrict` for the predicate its repository adds to every
query (schools.repository.visible_schools, devices.repository.visible_devices,
donations.repository.visible_donations); a loaded object is checked with `can_see` on the
same owners. So the rule is written once here, and every single-object read answers 404 out
of scope exactly like a missing object (no existence leak)."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.sql.elements import SQLCoreOperations

from devicetrack.auth.principal import Principal
from devicetrack.errors import Forbidden, NotFound
from devicetrack.i18n import N_


class SchoolOwned(Protocol):
    """What the scope rules read from a school (schools.models.School)."""

    @property
    def id(self) -> int | None: ...
    @property
    def province_code(self) -> str: ...


def restrict(
    principal: Principal,
    *,
    province: SQLCoreOperations[str],
    school: SQLCoreOperations[Any] | None = None,
    donor: SQLCoreOperations[Any] | None = None,
) -> ColumnElement[bool]:
    """The predicate for rows owned by `province` (and by `school` and `donor` where a row has
    them; a row without a school is never a school's, one without a donor never a donor's).
    The owners are the domain's columns."""
    if principal.is_admin:
        return true()
    if principal.is_province_officer:
        return province == principal.province_code
    if principal.is_school_staff:
        if school is None or not principal.school_ids:
            return false()
        return school.in_(sorted(principal.school_ids))
    if principal.is_donor and donor is not None:
        return donor == principal.donor_id
    return false()


def can_see(
    principal: Principal,
    *,
    province_code: str,
    school_id: int | None = None,
    donor_id: int | None = None,
) -> bool:
    """`restrict` for one loaded row."""
    if principal.is_admin:
        return True
    if principal.is_province_officer:
        return province_code == principal.province_code
    if principal.is_school_staff:
        return school_id is not None and school_id in principal.school_ids
    if principal.is_donor:
        return donor_id is not None and donor_id == principal.donor_id
    return False


def can_see_school(principal: Principal, school: SchoolOwned) -> bool:
    return can_see(principal, province_code=school.province_code, school_id=school.id)


S = TypeVar("S", bound=SchoolOwned)


def ensure_school_visible(principal: Principal, school: S | None, missing: str) -> S:
    """`school`, or NotFound with the message `missing` when it is none the caller sees."""
    if school is None or not can_see_school(principal, school):
        raise NotFound(missing)
    return school


def dashboard_province(principal: Principal, asked: str | None) -> str | None:
    """The province a coverage dashboard shows: officers their own whatever they ask; admins
    the one they pick (None: every province). The reports then apply `restrict` as usual."""
    if principal.is_province_officer:
        return principal.province_code
    if principal.is_admin:
        return asked
    raise Forbidden(N_("Coverage dashboards are for province officers."))


def ensure_can_manage_registry(principal: Principal, province_code: str) -> None:
    """Creating or changing schools: admins anywhere, province officers in their province."""
    if principal.is_admin:
        return
    if principal.is_province_officer:
        if province_code != principal.province_code:
            raise Forbidden(N_("You manage schools of your own province only."))
        return
    raise Forbidden(N_("Only province officers and admins manage the school registry."))


def ensure_can_edit_enrolment(principal: Principal, school: SchoolOwned) -> None:
    if principal.is_admin or principal.is_province_officer:
        return
    if principal.is_school_staff and school.id in principal.school_ids:
        return
    raise Forbidden(N_("Your role cannot change enrolments."))


def can_see_donation(principal: Principal, donor_id: int, province_code: str) -> bool:
    return can_see(principal, province_code=province_code, donor_id=donor_id)


def can_see_device(
    principal: Principal, province_code: str, school_id: int | None, donor_id: int
) -> bool:
    return can_see(principal, province_code=province_code, school_id=school_id, donor_id=donor_id)

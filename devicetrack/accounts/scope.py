"""Who may invite whom: one rule for a single invitation and for each row of an import.

An admin invites anyone. A province officer invites school staff of schools in their
province and officers of their province; nobody else invites. The invitation's scope is
checked on the objects it names (the schools' provinces), and a school outside the
officer's province is reported exactly like a missing one."""

from __future__ import annotations

from dataclasses import dataclass

from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Role
from devicetrack.errors import FieldError, Forbidden
from devicetrack.i18n import N_
from devicetrack.schools.models import School


def ensure_may_invite(principal: Principal) -> None:
    if not (principal.is_admin or principal.is_province_officer):
        raise Forbidden(N_("Only administrators and province officers invite people."))


@dataclass(frozen=True)
class Scope:
    """The invitation's scope once checked: what the user will get, and the province by
    which officers see the invitation."""

    province_code: str | None
    school_ids: list[int]
    donor_id: int | None


@dataclass(frozen=True)
class Checked:
    scope: Scope | None
    errors: list[FieldError]
    # The role is not the caller's to give (403 for a single invitation).
    not_allowed: bool = False


def check(
    principal: Principal,
    role: Role,
    *,
    schools: list[School | None],
    school_field: str,
    province_code: str | None,
    donor_id: int | None,
    donor_exists: bool,
    province_exists: bool = True,
) -> Checked:
    """`schools` are the named schools as loaded (None for one that does not exist)."""
    officer = principal.is_province_officer
    if role in (Role.ADMIN, Role.DONOR) and officer:
        return Checked(
            None,
            [FieldError(field="role", message=N_("only an administrator invites this role"))],
            not_allowed=True,
        )
    if role is Role.ADMIN:
        return Checked(Scope(None, [], None), [])
    if role is Role.DONOR:
        if donor_id is None:
            return Checked(
                None, [FieldError(field="donor_id", message=N_("a donor user needs a donor"))]
            )
        if not donor_exists:
            return Checked(None, [FieldError(field="donor_id", message=N_("does not exist"))])
        return Checked(Scope(None, [], donor_id), [])
    if role is Role.PROVINCE_OFFICER:
        if not province_code:
            return Checked(
                None,
                [FieldError(field="province_code", message=N_("a province officer needs one"))],
            )
        if not province_exists:
            return Checked(
                None, [FieldError(field="province_code", message=N_("no such province"))]
            )
        if officer and province_code != principal.province_code:
            return Checked(
                None,
                [FieldError(field="province_code", message=N_("not your province"))],
                not_allowed=True,
            )
        return Checked(Scope(province_code, [], None), [])
    if not schools:
        return Checked(
            None, [FieldError(field=school_field, message=N_("school staff need one or more"))]
        )
    errors = []
    found: list[School] = []
    for school in schools:
        if school is None or (officer and school.province_code != principal.province_code):
            errors.append(FieldError(field=school_field, message=N_("no such school")))
        else:
            found.append(school)
    if errors:
        return Checked(None, errors[:1])
    provinces = {s.province_code for s in found}
    ids = sorted({s.id for s in found if s.id is not None})
    return Checked(Scope(provinces.pop() if len(provinces) == 1 else None, ids, None), [])

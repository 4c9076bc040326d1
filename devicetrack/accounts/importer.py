"""All-or-nothing invitations from a CSV or XLSX sheet (Vietnamese or English headers).

Every row is checked (address, name, role, the scope the caller may give) before any is
written; a bad row refuses the whole file, naming each row and column. Then every
invitation is inserted and mailed (or left to be printed) in the request's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.accounts import repository as repo
from devicetrack.accounts import scope as invite_scope
from devicetrack.accounts.models import Invitation
from devicetrack.accounts.schemas import InvitationImportResult
from devicetrack.accounts.secrets import code_digest, new_code
from devicetrack.accounts.service import INVITATION_VALID, mail_invitation, unused_login
from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Locale, Role
from devicetrack.common.tabular import UploadLimits, parse_int, parse_table
from devicetrack.common.words import fold
from devicetrack.common.workers import off_loop
from devicetrack.config import Settings
from devicetrack.errors import FieldError, RowErrors, ValidationFailed, echo
from devicetrack.i18n import N_, Message, N_plural
from devicetrack.regions import repository as regions_repo
from devicetrack.schools.models import School

ALIASES = {
    "email": "email",
    "e_mail": "email",
    "thư_điện_tử": "email",
    "full_name": "full_name",
    "name": "full_name",
    "họ_tên": "full_name",
    "họ_và_tên": "full_name",
    "ho_ten": "full_name",
    "role": "role",
    "vai_trò": "role",
    "vai_tro": "role",
    "school_codes": "school_codes",
    "school_code": "school_codes",
    "mã_trường": "school_codes",
    "ma_truong": "school_codes",
    "province_code": "province_code",
    "mã_tỉnh": "province_code",
    "ma_tinh": "province_code",
    "donor_id": "donor_id",
    "mã_nhà_tài_trợ": "donor_id",
    "locale": "locale",
    "ngôn_ngữ": "locale",
    "ngon_ngu": "locale",
}
REQUIRED = {"full_name", "role"}

# A role as a Vietnamese sheet writes it, besides the codes themselves.
ROLE_WORDS = {
    "quản trị viên": Role.ADMIN,
    "quản trị": Role.ADMIN,
    "cán bộ sở": Role.PROVINCE_OFFICER,
    "chuyên viên sở": Role.PROVINCE_OFFICER,
    "cán bộ trường": Role.SCHOOL_STAFF,
    "giáo viên": Role.SCHOOL_STAFF,
    "nhân viên trường": Role.SCHOOL_STAFF,
    "nhà tài trợ": Role.DONOR,
}
LOCALE_WORDS = {"tiếng việt": Locale.VI, "tiếng anh": Locale.EN, "english": Locale.EN}


# The same words without their diacritics, as a sheet typed on a phone may write them.
_FOLDED_ROLES = {fold(word): role for word, role in ROLE_WORDS.items()}
_FOLDED_LOCALES = {fold(word): locale for word, locale in LOCALE_WORDS.items()}


def _role(text: str) -> Role | None:
    word = text.strip().lower()
    if word in set(Role):
        return Role(word)
    return ROLE_WORDS.get(word) or _FOLDED_ROLES.get(fold(word))


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.replace(";", ",").split(",") if c.strip()]


@dataclass(frozen=True)
class Row:
    number: int
    email: str | None
    full_name: str
    role: Role
    school_codes: list[str]
    province_code: str | None
    donor_id: int | None
    locale: Locale


def _parsed(
    table_rows: Sequence[tuple[int, dict[str, str]]],
) -> tuple[list[Row], RowErrors]:
    """Each row's own values, and what is wrong with them on their own."""
    found = RowErrors()
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for number, cells in table_rows:
        errors: list[FieldError] = []

        def bad(
            field: str, message: str, number: int = number, errors: list[FieldError] = errors
        ) -> None:
            errors.append(FieldError(row=number, field=field, message=message))

        email = cells.get("email", "").strip().lower() or None
        if email is not None:
            if len(email) > 254 or email.count("@") != 1 or any(c.isspace() for c in email):
                bad("email", Message(N_("not an email address: {value!r}"), value=echo(email)))
            elif email in seen:
                bad("email", Message(N_("duplicate of row {row} in this file"), row=seen[email]))
            else:
                seen[email] = number
        full_name = cells.get("full_name", "").strip()
        if not full_name:
            bad("full_name", N_("required"))
        elif len(full_name) > 200:
            bad("full_name", Message(N_("at most {n:,} characters"), n=200))
        role = _role(cells.get("role", ""))
        if role is None:
            bad(
                "role",
                Message(
                    N_("unknown role {role!r}; use {choices}"),
                    role=echo(cells.get("role", "")),
                    choices=", ".join(Role),
                ),
            )
        donor_id = None
        if cells.get("donor_id"):
            try:
                donor_id = parse_int(cells["donor_id"])
            except ValueError as exc:
                bad("donor_id", str(exc))
        locale_text = cells.get("locale", "").strip().lower() or Locale.VI
        locale = (
            Locale(locale_text)
            if locale_text in set(Locale)
            else LOCALE_WORDS.get(locale_text) or _FOLDED_LOCALES.get(fold(locale_text))
        )
        if locale is None:
            bad("locale", Message(N_("use one of {choices}"), choices=", ".join(Locale)))
        province = cells.get("province_code", "").strip()
        if not errors and role is not None and locale is not None:
            rows.append(
                Row(
                    number=number,
                    email=email,
                    full_name=full_name,
                    role=role,
                    school_codes=_codes(cells.get("school_codes", "")),
                    province_code=province.zfill(2) if province else None,
                    donor_id=donor_id,
                    locale=locale,
                )
            )
        found.add(errors)
    return rows, found


async def import_invitations(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    data: bytes,
    filename: str | None,
    limits: UploadLimits,
) -> InvitationImportResult:
    invite_scope.ensure_may_invite(principal)
    table = await parse_table(data, filename, ALIASES, REQUIRED, limits)
    if not table.rows:
        raise ValidationFailed(
            N_("The file has no data rows."), errors=[FieldError(row=2, message=N_("no rows"))]
        )
    rows, errors = await off_loop(_parsed, table.rows)
    await table.rows.release()
    schools = await repo.schools_by_code(session, sorted({c for r in rows for c in r.school_codes}))
    emails = [r.email for r in rows if r.email]
    users = await repo.existing_user_emails(session, emails)
    invited = await repo.open_invitation_emails(session, emails)
    donors = await repo.existing_donor_ids(session, [r.donor_id for r in rows if r.donor_id])
    provinces = {p.code for p, _ in await regions_repo.list_provinces(session)}
    invitations: list[tuple[Invitation, str]] = []
    now = datetime.now(UTC)
    for row in rows:
        row_errors: list[FieldError] = []
        if row.email in users:
            row_errors.append(
                FieldError(
                    row=row.number, field="email", message=N_("a user with this email exists")
                )
            )
        elif row.email in invited:
            row_errors.append(
                FieldError(
                    row=row.number,
                    field="email",
                    message=N_("already invited; resend or revoke it"),
                )
            )
        checked = invite_scope.check(
            principal,
            row.role,
            schools=[_school(schools, c) for c in row.school_codes],
            school_field="school_codes",
            province_code=row.province_code,
            donor_id=row.donor_id,
            donor_exists=row.donor_id in donors,
            province_exists=row.province_code is None or row.province_code in provinces,
        )
        row_errors += [
            FieldError(row=row.number, field=e.field, message=e.message) for e in checked.errors
        ]
        if checked.scope is not None and not row_errors:
            code = new_code()
            invitations.append(
                (
                    Invitation(
                        email=row.email or "",  # made up below, once every row is good
                        full_name=row.full_name,
                        role=row.role,
                        province_code=checked.scope.province_code,
                        donor_id=checked.scope.donor_id,
                        school_ids=checked.scope.school_ids,
                        locale=row.locale,
                        code_hash=code_digest(code),
                        created_by=principal.user_id or None,
                        expires_at=now + INVITATION_VALID,
                    ),
                    code,
                )
            )
        errors.add(row_errors)
    if errors:
        raise ValidationFailed(
            N_plural(
                "{n} row is wrong; nobody was invited.", "{n} rows are wrong; nobody was invited."
            ),
            errors=sorted(errors.listed, key=lambda e: e.row or 0),
            not_listed=errors.not_listed,
            n=errors.wrong_rows(),
        )
    made_up: set[str] = set()
    for invitation, _ in invitations:
        if not invitation.email:
            invitation.email = await unused_login(session, invitation.full_name, made_up)
            made_up.add(invitation.email)
    ids = await repo.add_invitations(session, [i for i, _ in invitations])
    for invitation, code in invitations:
        await mail_invitation(session, settings, invitation, code, principal.full_name)
    await session.flush()
    return InvitationImportResult(created=len(ids), invitation_ids=ids)


def _school(schools: dict[str, School], code: str) -> School | None:
    return schools.get(code)

"""Password resets, invitations, and each user's own password and language. Services never
commit: the request's transaction does, once; the mail they compose goes with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio.to_thread
import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.accounts import repository as repo
from devicetrack.accounts import scope as invite_scope
from devicetrack.accounts.models import Invitation, PasswordReset
from devicetrack.accounts.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationRead,
    MeUpdate,
    PasswordChange,
    PasswordResetConfirm,
)
from devicetrack.accounts.secrets import (
    code_digest,
    made_up_login,
    new_code,
    new_reset_token,
    reset_digest,
    show_code,
)
from devicetrack.accounts.values import InvitationStatus
from devicetrack.auth import cache
from devicetrack.auth import repository as auth_repo
from devicetrack.auth import service as auth
from devicetrack.auth.models import User
from devicetrack.auth.principal import Principal
from devicetrack.auth.repository import Attempt
from devicetrack.auth.schemas import MeRead, TokenRead, UserCreate
from devicetrack.auth.secrets import hash_password, new_token, token_digest, verify_password
from devicetrack.auth.values import Locale, Role
from devicetrack.common.pagination import MAX_ID
from devicetrack.config import Settings
from devicetrack.donors import repository as donors_repo
from devicetrack.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    TooManyRequests,
    ValidationFailed,
)
from devicetrack.i18n import N_
from devicetrack.jobs.queue import enqueue
from devicetrack.mail import service as mail
from devicetrack.mail.templates import INVITATION, PASSWORD_CHANGED, PASSWORD_RESET
from devicetrack.regions import repository as regions_repo

RESET_VALID = timedelta(hours=1)
# The job that looks up an address asked about and mails it a link (accounts.tasks).
RESET_REQUESTED_TASK = "accounts.reset_requested"
INVITATION_VALID = timedelta(days=7)
# Reset emails one account may be sent per throttling window (DEVICETRACK_LOGIN_WINDOW_
# SECONDS): enough for a lost email, too few to flood someone's mailbox.
RESETS_PER_ACCOUNT = 3
# Accepting an invitation makes a user as an administrator would; the invitation itself
# carries the role and scope its inviter was allowed to give.
INVITATIONS = Principal(user_id=0, email="invitations", full_name="invitation", role="admin")


def _window(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.login_window_seconds)


def _throttled(detail: str, settings: Settings) -> TooManyRequests:
    return TooManyRequests(detail, extra={"retry_after_seconds": settings.login_window_seconds})


async def _guard_secret_guesses(engine: AsyncEngine, settings: Settings, address: str) -> Attempt:
    """Wrong reset tokens and invitation codes from one address, counted like failed
    sign-ins (auth.repository.reserve_attempt): beyond 4× DEVICETRACK_LOGIN_MAX_FAILURES
    per window, 429. A right one wipes the count."""
    key = f"secret:{address}"
    attempt = await auth_repo.reserve_attempt(
        engine, key, key, _window(settings), 4 * settings.login_max_failures
    )
    if attempt.id is None:
        raise _throttled(N_("Too many wrong links or codes; wait a few minutes."), settings)
    return attempt


def _link_invalid(field: str) -> ValidationFailed:
    return ValidationFailed(
        N_("The link or code is wrong, used or expired; ask for a new one."),
        errors=[FieldError(field=field, message=N_("wrong, used or expired"))],
    )


def _link(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}"


# ---- password reset -------------------------------------------------------------------


async def request_reset(
    session: AsyncSession, engine: AsyncEngine, settings: Settings, email: str, address: str
) -> None:
    """Ask for a one-time link to the account's address. Requests are counted per address
    asked about and per client, as sign-ins are. Whether there is such an account is looked
    up by a job (mail_reset_if_known), not here: the request does the same work, in the same
    time, for an address with an account and one without, so neither the answer nor its
    timing tells who has an account."""
    email = email.strip().lower()
    attempt = await auth_repo.reserve_attempt(
        engine, f"reset:{email}", f"reset:{address}", _window(settings), RESETS_PER_ACCOUNT
    )
    if attempt.id is None or attempt.by_address >= 4 * settings.login_max_failures:
        raise _throttled(
            N_("Too many password reset requests; wait a few minutes and try again."), settings
        )
    await enqueue(session, RESET_REQUESTED_TASK, {"email": email})


async def mail_reset_if_known(session: AsyncSession, settings: Settings, email: str) -> None:
    """The job behind request_reset: the link goes out if the address is an active
    account's; otherwise nothing happens."""
    user = await auth_repo.user_by_email(session, email)
    if user is None or user.id is None or not user.active:
        return
    await mail_reset(session, settings, user)


async def mail_reset(session: AsyncSession, settings: Settings, user: User) -> None:
    """A one-time link, valid RESET_VALID, to the user's address (asked for by the user, or
    sent by an administrator: accounts.users.send_reset)."""
    assert user.id is not None
    token = new_reset_token()
    await repo.add_reset(
        session,
        PasswordReset(
            token_hash=reset_digest(token),
            user_id=user.id,
            expires_at=datetime.now(UTC) + RESET_VALID,
        ),
    )
    await mail.compose(
        session,
        to=user.email,
        template=PASSWORD_RESET.name,
        context={
            "full_name": user.full_name,
            "link": _link(settings, f"/password-reset/confirm?token={token}"),
            "valid_minutes": int(RESET_VALID.total_seconds() // 60),
        },
        locale=user.locale,
        user_id=user.id,
    )


async def _set_password(session: AsyncSession, user: User, password: str) -> None:
    """A new password ends every credential of the user (tokens, API keys), as an
    administrator's change does (auth.service.update_user)."""
    assert user.id is not None
    user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
    await auth_repo.revoke_tokens_of(session, user.id)
    await auth_repo.revoke_api_keys_of(session, user.id)
    await repo.use_resets_of(session, user.id)
    # Its failed sign-ins are forgiven: the owner has just proved who they are.
    await auth_repo.clear_failures(session, user.email, up_to=MAX_ID)
    cache.forget_user(user.id)
    await session.flush()


async def _mail_password_changed(session: AsyncSession, settings: Settings, user: User) -> None:
    await mail.compose(
        session,
        to=user.email,
        template=PASSWORD_CHANGED.name,
        context={"full_name": user.full_name, "link": _link(settings, "/password-reset")},
        locale=user.locale,
        user_id=user.id,
    )


async def confirm_reset(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    data: PasswordResetConfirm,
    address: str,
) -> None:
    attempt = await _guard_secret_guesses(engine, settings, address)
    reset = await repo.reset_for_update(session, reset_digest(data.token))
    user = await auth_repo.get_user(session, reset.user_id) if reset else None
    if (
        reset is None
        or reset.used_at is not None
        or reset.expires_at <= datetime.now(UTC)
        or user is None
        or not user.active
    ):
        raise _link_invalid("token")
    assert attempt.id is not None
    await auth_repo.clear_failures(session, f"secret:{address}", up_to=attempt.id)
    await _set_password(session, user, data.password)
    await _mail_password_changed(session, settings, user)


# ---- the caller's own account ------------------------------------------------------------


async def _new_session(session: AsyncSession, settings: Settings, user_id: int) -> TokenRead:
    token = new_token("dt")
    expires_at = datetime.now(UTC) + timedelta(hours=settings.token_ttl_hours)
    await auth_repo.add_token(session, token_digest(token), user_id, expires_at)
    return TokenRead(access_token=token, expires_at=expires_at)


async def change_password(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    principal: Principal,
    data: PasswordChange,
    address: str,
) -> TokenRead:
    """The caller's new password, given the current one (checked and throttled as a
    sign-in is). Every session and API key of the account ends; the caller gets a new
    session in the answer."""
    if principal.via_api_key:
        raise Forbidden(N_("An API key cannot change its user's password; sign in."))
    attempt = await auth_repo.reserve_attempt(
        engine, principal.email, address, _window(settings), settings.login_max_failures
    )
    if attempt.id is None:
        raise _throttled(
            N_("Too many failed sign-in attempts; wait a few minutes and try again."), settings
        )
    user = await auth_repo.get_user(session, principal.user_id)
    assert user is not None and user.id is not None
    correct = await anyio.to_thread.run_sync(
        verify_password, user.password_hash, data.current_password
    )
    if not correct:
        raise ValidationFailed(
            N_("The current password is wrong."),
            errors=[FieldError(field="current_password", message=N_("wrong password"))],
        )
    await _set_password(session, user, data.new_password)
    await _mail_password_changed(session, settings, user)
    return await _new_session(session, settings, user.id)


async def update_me(session: AsyncSession, principal: Principal, data: MeUpdate) -> MeRead:
    await auth.set_locale(session, principal, data.locale)
    return auth.me(msgspec.structs.replace(principal, locale=data.locale))


# ---- invitations ------------------------------------------------------------------------


def _status(invitation: Invitation, now: datetime) -> InvitationStatus:
    if invitation.accepted_at is not None:
        return InvitationStatus.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationStatus.REVOKED
    if invitation.expires_at <= now:
        return InvitationStatus.EXPIRED
    return InvitationStatus.PENDING


def invitation_read(invitation: Invitation, now: datetime | None = None) -> InvitationRead:
    assert invitation.id is not None and invitation.created_at is not None
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        mailed=mail.has_mailbox(invitation.email),
        full_name=invitation.full_name,
        role=Role(invitation.role),
        province_code=invitation.province_code,
        school_ids=list(invitation.school_ids),
        donor_id=invitation.donor_id,
        locale=invitation.locale,
        status=_status(invitation, now or datetime.now(UTC)),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        sent_at=invitation.sent_at,
        accepted_at=invitation.accepted_at,
        revoked_at=invitation.revoked_at,
        user_id=invitation.user_id,
    )


def may_manage(principal: Principal, invitation: Invitation) -> bool:
    """An admin manages every invitation; an officer those of staff and officers of their
    province (repository.visible_to_province is the same rule as a query)."""
    if principal.is_admin:
        return True
    return (
        principal.is_province_officer
        and invitation.province_code is not None
        and invitation.province_code == principal.province_code
        and invitation.role in (Role.SCHOOL_STAFF, Role.PROVINCE_OFFICER)
    )


async def mail_invitation(
    session: AsyncSession, settings: Settings, invitation: Invitation, code: str, inviter: str
) -> None:
    """The invitation by email, when its address is a mailbox; otherwise it is printed."""
    if not mail.has_mailbox(invitation.email):
        return
    invitation.sent_at = datetime.now(UTC)
    await mail.compose(
        session,
        to=invitation.email,
        template=INVITATION.name,
        context={
            "full_name": invitation.full_name,
            "link": accept_link(settings, code),
            "code": show_code(code),
            "role": invitation.role,
            "inviter": inviter,
            "valid_days": INVITATION_VALID.days,
            "login": invitation.email,
        },
        locale=invitation.locale,
    )


def accept_link(settings: Settings, code: str) -> str:
    return _link(settings, f"/invitations/accept?code={code}")


async def unused_login(
    session: AsyncSession, full_name: str, also_taken: set[str] | None = None
) -> str:
    """A made-up sign-in name no user, open invitation or `also_taken` has."""
    for _ in range(20):
        login = made_up_login(full_name)
        if (
            login not in (also_taken or set())
            and not await repo.existing_user_emails(session, [login])
            and not await repo.open_invitation_emails(session, [login])
        ):
            return login
    raise Conflict(N_("No free sign-in name was found; give the invitation an email address."))


def _email_taken() -> Conflict:
    return Conflict(
        N_("A user with this email exists."),
        errors=[FieldError(field="email", message=N_("already in use"))],
    )


def _already_invited() -> Conflict:
    return Conflict(
        N_("An invitation to this address is open; resend or revoke it."),
        errors=[FieldError(field="email", message=N_("already invited"))],
    )


async def invite(
    session: AsyncSession, principal: Principal, settings: Settings, data: InvitationCreate
) -> InvitationRead:
    invite_scope.ensure_may_invite(principal)
    schools = await repo.schools_by_id(session, data.school_ids)
    donor = await donors_repo.get_donor(session, data.donor_id) if data.donor_id else None
    checked = invite_scope.check(
        principal,
        data.role,
        schools=[schools.get(i) for i in data.school_ids],
        school_field="school_ids",
        province_code=data.province_code,
        donor_id=data.donor_id,
        donor_exists=donor is not None,
        province_exists=data.province_code is None
        or await regions_repo.get_province(session, data.province_code) is not None,
    )
    if checked.not_allowed:
        raise Forbidden(N_("You may not give this role or scope."), errors=checked.errors)
    if checked.scope is None:
        raise ValidationFailed(N_("The role needs a scope you may give."), errors=checked.errors)
    email = (
        data.email.strip().lower() if data.email else await unused_login(session, data.full_name)
    )
    if await repo.existing_user_emails(session, [email]):
        raise _email_taken()
    code = new_code()
    invitation = Invitation(
        email=email,
        full_name=data.full_name,
        role=data.role,
        province_code=checked.scope.province_code,
        donor_id=checked.scope.donor_id,
        school_ids=checked.scope.school_ids,
        locale=data.locale,
        code_hash=code_digest(code),
        created_by=principal.user_id or None,
        expires_at=datetime.now(UTC) + INVITATION_VALID,
    )
    try:
        async with session.begin_nested():
            invitation = await repo.add_invitation(session, invitation)
    except IntegrityError as exc:
        if "uq_invitations_open_email" in str(exc.orig):
            raise _already_invited() from None
        raise
    await mail_invitation(session, settings, invitation, code, principal.full_name)
    await session.flush()
    return invitation_read(invitation)


async def list_invitations(
    session: AsyncSession,
    principal: Principal,
    *,
    status: InvitationStatus | None,
    after_id: int | None,
    limit: int,
) -> list[InvitationRead]:
    invite_scope.ensure_may_invite(principal)
    now = datetime.now(UTC)
    where = [] if principal.is_admin else [repo.visible_to_province(principal.province_code)]
    if status is not None:
        where.append(repo.status_is(status, now))
    rows = await repo.list_invitations(session, where=where, after_id=after_id, limit=limit)
    return [invitation_read(r, now) for r in rows]


async def _managed(session: AsyncSession, principal: Principal, invitation_id: int) -> Invitation:
    invite_scope.ensure_may_invite(principal)
    invitation = await repo.get_invitation(session, invitation_id, for_update=True)
    if invitation is None or not may_manage(principal, invitation):
        raise NotFound(N_("No invitation {id}."), id=invitation_id)
    return invitation


async def get_invitation(
    session: AsyncSession, principal: Principal, invitation_id: int
) -> InvitationRead:
    return invitation_read(await _managed(session, principal, invitation_id))


def _ensure_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict(
            N_("The invitation was accepted.")
            if invitation.accepted_at
            else N_("The invitation was revoked."),
            extra={"status": _status(invitation, datetime.now(UTC))},
        )


def _renew(invitation: Invitation) -> str:
    """A new code (the old one stops working) and seven more days."""
    code = new_code()
    invitation.code_hash = code_digest(code)
    invitation.expires_at = datetime.now(UTC) + INVITATION_VALID
    return code


async def resend(
    session: AsyncSession, principal: Principal, settings: Settings, invitation_id: int
) -> InvitationRead:
    invitation = await _managed(session, principal, invitation_id)
    _ensure_open(invitation)
    if not mail.has_mailbox(invitation.email):
        raise Conflict(N_("This invitation has no email address: print its sheet again instead."))
    code = _renew(invitation)
    await mail_invitation(session, settings, invitation, code, principal.full_name)
    await session.flush()
    return invitation_read(invitation)


async def revoke(session: AsyncSession, principal: Principal, invitation_id: int) -> None:
    invitation = await _managed(session, principal, invitation_id)
    if invitation.accepted_at is not None:
        raise Conflict(N_("The invitation was accepted; deactivate the user instead."))
    if invitation.revoked_at is None:
        invitation.revoked_at = datetime.now(UTC)
    await session.flush()


@dataclass(frozen=True)
class SheetEntry:
    """One printed invitation: everything its page shows."""

    full_name: str
    role: str
    login: str
    code: str
    link: str
    expires_at: datetime
    places: list[str]  # the schools' names, or the province or donor


async def sheet_entries(
    session: AsyncSession, principal: Principal, settings: Settings, ids: list[int]
) -> list[SheetEntry]:
    """Fresh codes for the invitations to print (each old code stops working), in the
    order asked. Every invitation must be one the caller manages and still open."""
    entries: list[SheetEntry] = []
    for invitation_id in ids:
        invitation = await _managed(session, principal, invitation_id)
        _ensure_open(invitation)
        code = _renew(invitation)
        schools = await repo.schools_by_id(session, invitation.school_ids)
        places = [schools[i].name for i in invitation.school_ids if i in schools]
        entries.append(
            SheetEntry(
                full_name=invitation.full_name,
                role=invitation.role,
                login=invitation.email,
                code=show_code(code),
                link=accept_link(settings, code),
                expires_at=invitation.expires_at,
                places=places or [p for p in (invitation.province_code,) if p],
            )
        )
        invitation.sent_at = datetime.now(UTC)
    await session.flush()
    return entries


async def accept(
    session: AsyncSession,
    engine: AsyncEngine,
    settings: Settings,
    data: InvitationAccept,
    address: str,
) -> TokenRead:
    """The invitee chooses a password: the user is made with the invited role and scope,
    and signed in."""
    attempt = await _guard_secret_guesses(engine, settings, address)
    invitation = await repo.invitation_by_code(session, code_digest(data.code))
    if invitation is None or _status(invitation, datetime.now(UTC)) != InvitationStatus.PENDING:
        raise _link_invalid("code")
    assert attempt.id is not None
    await auth_repo.clear_failures(session, f"secret:{address}", up_to=attempt.id)
    user = await auth.create_user(
        session,
        INVITATIONS,
        UserCreate(
            email=invitation.email,
            full_name=invitation.full_name,
            password=data.password,
            role=Role(invitation.role),
            province_code=invitation.province_code,
            school_ids=list(invitation.school_ids),
            donor_id=invitation.donor_id,
            locale=Locale(invitation.locale),
        ),
    )
    invitation.accepted_at = datetime.now(UTC)
    invitation.user_id = user.id
    await session.flush()
    return await _new_session(session, settings, user.id)

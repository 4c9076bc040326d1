"""Who receives which digest: each user's choices, as the account page and
PATCH /api/v1/me/digests make them. Every digest of a user's role is on unless they turned
it off (digest_opt_outs holds the exceptions). What each digest says is mailings.py's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.digests import repository as repo
from devicetrack.digests.schedules import SCHEDULES
from devicetrack.digests.schemas import DigestsRead, DigestsUpdate
from devicetrack.digests.values import Digest, digests_for
from devicetrack.errors import FieldError, ValidationFailed
from devicetrack.i18n import N_
from devicetrack.mail.service import has_mailbox

# What the account page calls each digest (English msgids).
LABELS: dict[Digest, str] = {
    Digest.SIMS_EXPIRING: N_("SIMs whose data plans end within 30 days (daily, 07:00)"),
    Digest.OVERDUE_LOANS: N_("Loans past their due date (Mondays, 07:00)"),
    Digest.AUDITS_DUE: N_("Schools due for an audit (the 1st of each month, 07:00)"),
    Digest.DONOR_IMPACT: N_("The impact of your donations, as a PDF (each quarter)"),
}


# ---- the choices ------------------------------------------------------------------------


async def preferences(session: AsyncSession, principal: Principal) -> DigestsRead:
    off = await repo.opted_out(session, principal.user_id)
    mine = digests_for(principal.role)
    return DigestsRead(
        receive={d: d.value not in off for d in mine},
        schedules={d: SCHEDULES[d].describe() for d in mine},
    )


async def choose(session: AsyncSession, principal: Principal, data: DigestsUpdate) -> DigestsRead:
    """Turn digests on or off for the caller; one their role does not receive is refused."""
    mine = set(digests_for(principal.role))
    wrong = [d for d in data.receive if d not in mine]
    if wrong:
        raise ValidationFailed(
            N_("Your role does not receive this digest."),
            errors=[
                FieldError(field=f"receive.{d.value}", message=N_("not a digest of your role"))
                for d in wrong
            ],
        )
    await repo.opt_in(session, principal.user_id, [d for d, on in data.receive.items() if on])
    await repo.opt_out(session, principal.user_id, [d for d, on in data.receive.items() if not on])
    return await preferences(session, principal)


async def choices(session: AsyncSession, principal: Principal) -> list[tuple[Digest, str, bool]]:
    """What the account page offers the caller: each digest of their role, its label (an
    English msgid) and whether it is on. None for someone without a mailbox (staff invited
    on paper): no digest could reach them."""
    if not has_mailbox(principal.email):
        return []
    off = await repo.opted_out(session, principal.user_id)
    return [(d, LABELS[d], d.value not in off) for d in digests_for(principal.role)]


async def choose_only(session: AsyncSession, principal: Principal, on: set[str]) -> None:
    """The account page's form: the digests ticked are on, the caller's others off."""
    mine = digests_for(principal.role)
    await choose(session, principal, DigestsUpdate(receive={d: d.value in on for d in mine}))

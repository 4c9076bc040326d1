"""The value lists of digests, each defined here once (see devices/values.py)."""

from __future__ import annotations

from enum import StrEnum

from devicetrack.auth.values import Role


class Digest(StrEnum):
    SIMS_EXPIRING = "sims_expiring"
    OVERDUE_LOANS = "overdue_loans"
    AUDITS_DUE = "audits_due"
    DONOR_IMPACT = "donor_impact"


# Who receives each digest (admins receive none: they follow everything on the pages).
RECEIVERS: dict[Digest, frozenset[Role]] = {
    Digest.SIMS_EXPIRING: frozenset({Role.SCHOOL_STAFF, Role.PROVINCE_OFFICER}),
    Digest.OVERDUE_LOANS: frozenset({Role.SCHOOL_STAFF}),
    Digest.AUDITS_DUE: frozenset({Role.SCHOOL_STAFF, Role.PROVINCE_OFFICER}),
    Digest.DONOR_IMPACT: frozenset({Role.DONOR}),
}


def digests_for(role: str) -> list[Digest]:
    """The digests a role receives, in the order the account page lists them."""
    return [d for d in Digest if role in RECEIVERS[d]]

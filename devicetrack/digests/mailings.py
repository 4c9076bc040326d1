"""What each digest says, and to whom: read through the reports and loans services *as
the recipient* (a Principal of their own), so a digest holds exactly what its reader may
see on the page it links to — students by name only to the school's own staff, and then
written to the child's access log like any read; counts and schools to officers and
donors. Only those who have not turned a digest off receive it (service.py).

Each `send_*` composes its messages in the caller's transaction (a periodic job's, which
claimed the period first: jobs/periodic.py), so a day's digest run twice is mailed once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.auth.values import Role
from devicetrack.common.clock import local_today
from devicetrack.common.links import absolute, device_link
from devicetrack.digests import documents
from devicetrack.digests import repository as repo
from devicetrack.digests.repository import Recipient
from devicetrack.digests.values import RECEIVERS, Digest
from devicetrack.i18n import N_
from devicetrack.mail import service as mail
from devicetrack.mail.smtp import Attachment
from devicetrack.mail.templates import (
    DIGEST_AUDITS,
    DIGEST_DONOR,
    DIGEST_LOANS,
    DIGEST_SIMS,
)
from devicetrack.paper.language import Language, Languages, short_date
from devicetrack.reports import service as reports
from devicetrack.reports.schemas import SimToTopUp
from devicetrack.schools import service as schools_service
from devicetrack.students import access_log, assignments

SIM_WINDOW_DAYS = 30
# A SIM falls in the first of these groups its days left fit in (0 and 1: today, tomorrow).
SIM_GROUPS = (1, 7, 14, 30)
AUDIT_DAYS = 180  # the audit-due page's window
# Rows listed in an email per group or school; the page it links to (and the officers'
# spreadsheet) has them all.
LISTED = 50
ACCOUNT_PATH = "/account"
MAIL_ROUTE = "MAIL digest overdue_loans"  # the child's access log's "route" of a digest
# Who reads the whole installation to find where a digest has something to say (then each
# recipient's own report is read as them).
DIGESTS = Principal(user_id=0, email="digests", full_name="digests", role="admin")


# ---- the digests ------------------------------------------------------------------------


@dataclass(frozen=True)
class Mailing:
    """What every digest run needs: where people reach the service, and their languages."""

    public_url: str
    languages: Languages

    def link(self, path: str) -> str:
        return absolute(self.public_url, path)


def _principal(r: Recipient) -> Principal:
    return Principal(
        user_id=r.id,
        email=r.email,
        full_name=r.full_name,
        role=r.role,
        province_code=r.province_code,
        school_ids=frozenset(r.school_ids),
        donor_id=r.donor_id,
        locale=r.locale,
    )


def _concerns(r: Recipient, places: repo.Places) -> bool:
    """Whether a digest with something to say about `places` concerns this recipient: an
    officer's province, or one of a staff member's schools."""
    if r.role == Role.PROVINCE_OFFICER:
        return r.province_code in places.provinces
    return bool(places.schools & set(r.school_ids))


async def _recipients(session: AsyncSession, digest: Digest) -> list[Recipient]:
    return await repo.recipients(session, digest.value, RECEIVERS[digest])


async def _compose(
    session: AsyncSession,
    mailing: Mailing,
    r: Recipient,
    template: str,
    context: dict[str, Any],
    attachments: Iterable[Attachment] = (),
    student_ids: Iterable[int] = (),
) -> bool:
    context = {"full_name": r.full_name, "account": mailing.link(ACCOUNT_PATH), **context}
    message = await mail.compose(
        session,
        to=r.email,
        template=template,
        context=context,
        locale=r.locale,
        user_id=r.id,
        attachments=list(attachments),
        student_ids=list(student_ids),
    )
    return message is not None


def _sim_group(days_left: int) -> int:
    return next(g for g in SIM_GROUPS if days_left <= g)


def _sim_groups(
    sims: list[SimToTopUp], today: date, t: Language, link: Callable[[str], str]
) -> list[dict[str, Any]]:
    groups: dict[int, list[SimToTopUp]] = {g: [] for g in SIM_GROUPS}
    for s in sims:
        groups[_sim_group((s.plan_expires_on - today).days)].append(s)
    return [
        {
            "days": g,
            "count": len(members),
            "more": max(0, len(members) - LISTED),
            "sims": [
                {
                    "tag": s.asset_tag,
                    "phone": s.msisdn or "–",
                    "carrier": t.word(s.carrier) if s.carrier else "–",
                    "school": s.school_name or t(N_("Province stock")),
                    "expires": short_date(t, s.plan_expires_on),
                    "link": link(s.asset_tag),
                }
                for s in members[:LISTED]
            ],
        }
        for g, members in groups.items()
    ]


async def send_sims_expiring(session: AsyncSession, mailing: Mailing) -> int:
    """Daily: to each school's staff and each province's officers whose SIMs (in service)
    have a plan ending within 30 days, grouped by 1/7/14/30 days; officers get the
    carrier's list as XLSX. Lapsed plans are on the SIM page, not mailed again every day."""
    today = local_today()
    places = await repo.sims_ending_between(session, today, today + timedelta(days=SIM_WINDOW_DAYS))
    sent = 0
    for r in await _recipients(session, Digest.SIMS_EXPIRING):
        officer = r.role == Role.PROVINCE_OFFICER
        if not _concerns(r, places):
            continue
        # Without the lapsed plans: years of them would fill the report's list of SIMs
        # (SIM_LIST_LIMIT, soonest first) before the ones still to top up.
        report = await reports.sim_expiry(
            session,
            _principal(r),
            within_days=SIM_WINDOW_DAYS,
            province=r.province_code if officer else None,
            lapsed=False,
            limit=0,  # the mail lists the SIMs, not the schools' groups
        )
        sims = report.sims
        if not sims:
            continue
        t = mailing.languages(r.locale)
        if officer:
            link = mailing.link(f"/province/sims?days={SIM_WINDOW_DAYS}")
            files = [await documents.sims_xlsx(sims, t)]
        else:
            school = min(s.school_id for s in sims if s.school_id is not None)
            link = mailing.link(f"/schools/{school}?kind=sim")
            files = []
        context = {
            "link": link,
            "total": len(sims),
            "groups": _sim_groups(sims, today, t, lambda tag: device_link(mailing.public_url, tag)),
            "attached": bool(files),
        }
        sent += await _compose(session, mailing, r, DIGEST_SIMS.name, context, files)
    return sent


async def send_overdue_loans(session: AsyncSession, mailing: Mailing) -> int:
    """Weekly: to each school's staff, the school's loans past their due date, with the
    students' names (theirs to see: it is their school), each read written to the child's
    access log."""
    late = await repo.loans_late_on(session, local_today())
    sent = 0
    for r in await _recipients(session, Digest.OVERDUE_LOANS):
        principal = _principal(r)
        t = mailing.languages(r.locale)
        schools: list[dict[str, Any]] = []
        named: list[int] = []  # the students the email names (erasing one erases it)
        total = 0
        for school_id in sorted(late.keys() & set(r.school_ids)):
            # One more than listed: whether the page has more than the email shows.
            loans = await assignments.school_loans(
                session, principal, school_id, overdue_only=True, after_id=None, limit=LISTED + 1
            )
            if not loans:
                continue
            shown = loans[:LISTED]
            # The subject and the first line count them all, not only those listed.
            total += late[school_id] if len(loans) > LISTED else len(loans)
            await access_log.record_reads(session, principal, MAIL_ROUTE, shown)
            named += [loan.student_id for loan in shown if loan.student_id is not None]
            names = await schools_service.school_names(session, [school_id])
            schools.append(
                {
                    "name": names.get(school_id, str(school_id)),
                    "link": mailing.link(f"/schools/{school_id}/loans?overdue=1"),
                    "more": len(loans) > LISTED,
                    "loans": [
                        {
                            "tag": loan.asset_tag,
                            "kind": t.word(loan.device_kind),
                            "student": loan.student_name or "–",
                            "code": loan.student_code or "–",
                            "class_name": loan.class_name or "–",
                            "due": short_date(t, loan.due_back_on),
                            "days": loan.days_overdue,
                        }
                        for loan in shown
                    ],
                }
            )
        if schools:
            context = {"total": total, "schools": schools}
            sent += await _compose(
                session, mailing, r, DIGEST_LOANS.name, context, student_ids=named
            )
    return sent


async def send_audits_due(session: AsyncSession, mailing: Mailing) -> int:
    """Monthly: to staff and officers, the schools of theirs holding received devices with
    no audit in 180 days (the province's audit-due list)."""
    everywhere = await reports.audit_due(
        session, DIGESTS, province=None, school=None, days=AUDIT_DAYS, limit=0
    )
    places = await repo.provinces_of(session, [s.school_id for s in everywhere.schools])
    sent = 0
    for r in await _recipients(session, Digest.AUDITS_DUE):
        officer = r.role == Role.PROVINCE_OFFICER
        if not _concerns(r, places):
            continue
        report = await reports.audit_due(
            session,
            _principal(r),
            province=r.province_code if officer else None,
            school=None,
            days=AUDIT_DAYS,
            limit=0,
        )
        if not report.schools:
            continue
        t = mailing.languages(r.locale)
        schools = [
            {
                "name": s.school_name,
                "last_audit": short_date(t, s.last_audit_at.date()) if s.last_audit_at else None,
                "devices": s.devices_held,
                "link": mailing.link(f"/schools/{s.school_id}/audits"),
            }
            for s in report.schools[:LISTED]
        ]
        first = report.schools[0].school_id
        context = {
            "link": mailing.link("/province/audits" if officer else f"/schools/{first}/audits"),
            "total": len(report.schools),
            "days": AUDIT_DAYS,
            "schools": schools,
        }
        sent += await _compose(session, mailing, r, DIGEST_AUDITS.name, context)
    return sent


def _quarter(period: str, t: Language) -> str:
    """A quarter's period (2026-Q4) as the reader says it."""
    year, _, quarter = period.partition("-Q")
    return t(N_("quarter {quarter} of {year}"), quarter=quarter, year=year) if quarter else period


async def send_donor_impact(session: AsyncSession, mailing: Mailing, period: str) -> int:
    """Quarterly: to each donor's users, the impact page's figures and the same as a PDF.
    Counts and schools only: no student, no person, is named."""
    today = local_today()
    sent = 0
    for r in await _recipients(session, Digest.DONOR_IMPACT):
        if r.donor_id is None:
            continue
        impact = await reports.donor_impact(session, _principal(r), r.donor_id)
        if impact.devices_total == 0 and not impact.pledged:
            continue
        t = mailing.languages(r.locale)
        link = mailing.link("/donor")
        pdf = await documents.impact_pdf(impact, t, today, link)
        context = {
            "link": link,
            "donor": impact.donor_name,
            "period": _quarter(period, t),
            "date": short_date(t, today),
            "devices": impact.devices_total,
            "schools": impact.schools_reached_total,
            "communes": impact.communes_reached,
            "students": impact.students_reached,
            "students_now": impact.students_with_device_now,
        }
        sent += await _compose(session, mailing, r, DIGEST_DONOR.name, context, [pdf])
    return sent

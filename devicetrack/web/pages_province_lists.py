"""What a province follows up: SIMs whose data plans end soon (by school, and one by one for
the carrier) and schools whose audit is overdue, each also as Excel in the reader's
language."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth import scope
from devicetrack.auth.principal import Principal
from devicetrack.common.lag_tolerant import LAG_TOLERANT
from devicetrack.common.pagination import page_from_link
from devicetrack.common.spreadsheet import DAY, Column
from devicetrack.i18n import N_
from devicetrack.reports import service as reports
from devicetrack.reports.schemas import AuditDueReport
from devicetrack.reports.sim_sheet import FILENAME as SIMS_FILENAME
from devicetrack.reports.sim_sheet import TITLE as SIMS_TITLE
from devicetrack.reports.sim_sheet import sims_to_top_up_table
from devicetrack.web.excel import table_xlsx
from devicetrack.web.render import page, translator

# The page's windows in days; besides them, "all" lists every SIM with an end date.
SIM_WINDOWS = (7, 14, 30, 60, 90)
Days = int | Literal["all"]


# SIMs listed one by one on a page (the Excel list has up to reports.SIM_LIST_LIMIT), and
# schools in the page's table of groups (the Excel file has them all).
SIMS_PER_PAGE = 100
SIM_GROUPS_SHOWN = 200
# Schools due an audit a page (a province has up to ~2,400; the Excel file has them all),
# and the longest-unseen devices shown.
DUE_PER_PAGE = 100
UNSEEN_SHOWN = 100


async def _sim_report(
    tx: AsyncSession,
    principal: Principal,
    province: str | None,
    days: Days,
    *,
    after: str | None = None,
    limit: int = reports.SIM_LIST_LIMIT,
    schools: int | None = None,
) -> tuple[str | None, Any]:
    """The SIM expiry report the page and both Excel files show (days kept within 0–3650,
    `all`: no end); neither names the students (they show counts)."""
    code = scope.dashboard_province(principal, province)
    within = None if days == "all" else max(0, min(days, reports.SIM_WINDOW_MAX_DAYS))
    report = await reports.sim_expiry(
        tx,
        principal,
        within_days=within,
        province=code,
        name_students=False,
        sims_after=after,
        sims_limit=limit,
        limit=schools,
        from_top_if_gone=True,
    )
    return code, report


class ProvinceFollowUpPages(Controller):
    path = "/province"
    include_in_schema = False
    opt = LAG_TOLERANT  # follow-up lists read the replica when there is one

    @get("/sims")
    async def sims(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        days: Days = 30,
        after: str | None = None,
    ) -> Response[Any]:
        code, report = await _sim_report(
            tx,
            principal,
            province,
            days,
            after=after,
            limit=SIMS_PER_PAGE,
            schools=SIM_GROUPS_SHOWN,
        )
        return page(
            request,
            "sims.html",
            principal,
            report=report,
            code=code,
            windows=SIM_WINDOWS,
            groups=report.items,
        )

    @get("/audits")
    async def audits_due(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        start: int | None = None,
    ) -> Response[Any]:
        code = scope.dashboard_province(principal, province)

        async def due_from(offset: int) -> AuditDueReport:
            return await reports.audit_due(
                tx,
                principal,
                province=code,
                school=None,
                days=180,
                limit=UNSEEN_SHOWN,
                schools_limit=DUE_PER_PAGE,
                schools_offset=offset,
            )

        report, offset = await page_from_link(start, due_from, lambda report: report.schools)
        end = offset + len(report.schools)
        return page(
            request,
            "audits_due.html",
            principal,
            report=report,
            code=code,
            first=offset + 1,
            more=end if end < report.schools_total else None,
        )

    @get("/sims.xlsx")
    async def sims_xlsx(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        days: Days = 30,
    ) -> Stream:
        _, report = await _sim_report(tx, principal, province, days)
        t = translator(request, principal)
        header: list[str | Column] = [
            t("School"),
            t("SIMs"),
            t("Already expired"),
            Column(t("Earliest expiry"), DAY),
            t("Students affected"),
        ]
        rows = [
            (
                g.school_name or t("Province stock"),
                g.sims,
                g.expired,
                g.earliest_expiry,
                g.students_affected,
            )
            for g in report.items
        ]
        return await table_xlsx(request, "sims-expiring.xlsx", t("SIMs expiring"), header, rows)

    @get("/sims-list.xlsx")
    async def sims_list_xlsx(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        days: Days = 30,
    ) -> Stream:
        """One row per SIM to top up, soonest first: what a carrier needs."""
        _, report = await _sim_report(tx, principal, province, days)
        t = translator(request, principal)
        header, rows = sims_to_top_up_table(report.sims, t)
        return await table_xlsx(request, SIMS_FILENAME, t(SIMS_TITLE), header, rows)

    @get("/audits.xlsx")
    async def audits_xlsx(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
    ) -> Stream:
        code = scope.dashboard_province(principal, province)
        report = await reports.audit_due(
            tx, principal, province=code, school=None, days=180, limit=1000
        )
        t = translator(request, principal)
        header = [t(h) for h in (N_("School"), N_("Last audit"), N_("Devices held"))]
        rows = [(s.school_name, s.last_audit_at, s.devices_held) for s in report.schools]
        return await table_xlsx(request, "audits-overdue.xlsx", t("Audits overdue"), header, rows)

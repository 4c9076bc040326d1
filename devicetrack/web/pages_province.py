"""Province pages: the coverage dashboard with its charts, drill-down commune → school →
devices, SIMs about to expire, overdue audits, and any table as Excel."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import VIETNAM, local_today
from devicetrack.common.heavy import heavy_work
from devicetrack.common.spreadsheet import DAY, XLSX, Column, download
from devicetrack.errors import Forbidden, NotFound
from devicetrack.regions import repository as regions
from devicetrack.reports import export as reports_export
from devicetrack.reports import service as reports
from devicetrack.reports.service import current_school_year
from devicetrack.web.excel import table_xlsx
from devicetrack.web.render import page, translator

SORTABLE = (
    "gap",
    "gap_after_incoming",
    "devices_incoming",
    "coverage_pct",
    "priority_coverage_pct",
    "devices_per_100",
    "enrolled",
)


def offered_years() -> list[str]:
    """The school years a dashboard offers: two back, this one and the next (planning)."""
    first = int(current_school_year(local_today())[:4])
    return [f"{y}-{y + 1}" for y in range(first - 2, first + 2)]


# The page's windows in days; besides them, "all" lists every SIM with an end date.
SIM_WINDOWS = (7, 14, 30, 60, 90)
Days = int | Literal["all"]


async def _sim_report(
    tx: AsyncSession, principal: Principal, province: str | None, days: Days
) -> tuple[str | None, Any]:
    """The SIM expiry report the page and both Excel files show (days kept within 0–3650,
    `all`: no end)."""
    code = _province_of(principal, province)
    within = None if days == "all" else max(0, min(days, reports.SIM_WINDOW_MAX_DAYS))
    report = await reports.sim_expiry(tx, principal, within_days=within, province=code)
    return code, report


def _province_of(principal: Principal, asked: str | None) -> str | None:
    """Officers see their own province whatever they ask; admins pick one (None: all)."""
    if principal.is_province_officer:
        return principal.province_code
    if principal.is_admin:
        return asked
    raise Forbidden("Coverage dashboards are for province officers.")


def _sort(sort: str | None) -> str:
    name = (sort or "-gap").lstrip("-")
    return sort if sort and name in SORTABLE else "-gap_after_incoming"


class ProvincePages(Controller):
    path = "/province"
    include_in_schema = False

    @get("/")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        sort: str | None = None,
        year: str | None = None,
    ) -> Response[Any]:
        code = _province_of(principal, province)
        years = offered_years()
        year = year if year in years else None
        if code is None:
            report = await reports.coverage(
                tx,
                principal,
                level="province",
                province=None,
                commune=None,
                year=year,
                target_per_100=100,
                sort="-gap",
            )
            return page(request, "provinces.html", principal, report=report)
        place = await regions.get_province(tx, code)
        if place is None:
            raise NotFound(f"No province {code}.")
        sort = _sort(sort)
        schools = await reports.coverage(
            tx,
            principal,
            level="school",
            province=code,
            commune=None,
            year=year,
            target_per_100=100,
            sort=sort,
        )
        communes = await reports.coverage(
            tx,
            principal,
            level="commune",
            province=code,
            commune=None,
            year=year,
            target_per_100=100,
            sort="-gap",
        )
        whole = await reports.coverage(
            tx,
            principal,
            level="province",
            province=code,
            commune=None,
            year=year,
            target_per_100=100,
            sort=None,
        )
        gaps = await reports.gaps(
            tx, principal, level="school", province=code, year=year, target_per_100=100, limit=10
        )
        sims = await reports.sim_expiry(tx, principal, within_days=30, province=code)
        due = await reports.audit_due(
            tx, principal, province=code, school=None, days=180, limit=200
        )
        t = translator(request, principal)
        stock_text = ", ".join(
            f"{t.word(kind)}: {t.number(n)}" for kind, n in gaps.stock.items() if n
        )
        return page(
            request,
            "province.html",
            principal,
            place=place,
            code=code,
            schools=schools,
            communes=communes,
            whole=whole.items[0] if whole.items else None,
            gaps=gaps,
            sims=sims,
            due=due,
            sort=sort,
            years=years,
            year=schools.year,
            stock_text=stock_text,
        )

    @get("/communes/{commune:str}")
    async def commune(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        commune: str,
        province: str | None = None,
        sort: str | None = None,
    ) -> Response[Any]:
        code = _province_of(principal, province)
        sort = _sort(sort)
        report = await reports.coverage(
            tx,
            principal,
            level="school",
            province=code,
            commune=commune[:10],
            year=None,
            target_per_100=100,
            sort=sort,
        )
        if not report.items:
            raise NotFound("No schools of yours in this commune.")
        return page(
            request,
            "commune.html",
            principal,
            report=report,
            code=code,
            commune=commune,
            sort=sort,
        )

    @get("/sims")
    async def sims(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        days: Days = 30,
    ) -> Response[Any]:
        code, report = await _sim_report(tx, principal, province, days)
        return page(request, "sims.html", principal, report=report, code=code, windows=SIM_WINDOWS)

    @get("/audits")
    async def audits_due(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
    ) -> Response[Any]:
        code = _province_of(principal, province)
        report = await reports.audit_due(
            tx, principal, province=code, school=None, days=180, limit=500
        )
        return page(request, "audits_due.html", principal, report=report, code=code)

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
        header: list[str | Column] = [
            *(t(h) for h in ("Asset tag", "Phone number", "ICCID", "Carrier", "Plan")),
            Column(t("Plan expires"), DAY),
            t("School"),
            t("Installed in"),
        ]
        rows = [
            (
                s.asset_tag,
                s.msisdn,
                s.iccid,
                t.word(s.carrier) if s.carrier else None,
                s.plan_name,
                s.plan_expires_on,
                s.school_name if s.school_id else t("Province stock"),
                s.installed_in,
            )
            for s in report.sims
        ]
        return await table_xlsx(request, "sims-to-top-up.xlsx", t("SIMs to top up"), header, rows)

    @get("/audits.xlsx")
    async def audits_xlsx(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
    ) -> Stream:
        code = _province_of(principal, province)
        report = await reports.audit_due(
            tx, principal, province=code, school=None, days=180, limit=1000
        )
        t = translator(request, principal)
        header = [t(h) for h in ("School", "Last audit", "Devices held")]
        rows = [(s.school_name, s.last_audit_at, s.devices_held) for s in report.schools]
        return await table_xlsx(request, "audits-overdue.xlsx", t("Audits overdue"), header, rows)

    @get("/coverage.xlsx")
    async def export(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        level: Literal["school", "commune", "province"] = "school",
        commune: str | None = None,
        year: str | None = None,
    ) -> Stream:
        code = _province_of(principal, province)
        report = await reports.coverage(
            tx,
            principal,
            level=level,
            province=code,
            commune=commune,
            year=year if year in offered_years() else None,
            target_per_100=100,
            sort=None,
        )
        handle = await reports_export.coverage_xlsx(
            heavy_work(request),
            report,
            heading=translator(request, principal).field,
            local_time=VIETNAM,
        )
        return download(handle, f"coverage-{level}-{report.year}.xlsx", XLSX)

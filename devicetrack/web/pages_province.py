"""Province pages: the coverage dashboard with its charts for a chosen school year, the
drill-down commune → school, and coverage as Excel. Which province a caller sees is
auth.scope.dashboard_province; every figure comes from the reports."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth import scope
from devicetrack.auth.principal import Principal
from devicetrack.common.clock import VIETNAM, local_today
from devicetrack.common.heavy import heavy_work
from devicetrack.common.lag_tolerant import LAG_TOLERANT
from devicetrack.common.pagination import page_from_link
from devicetrack.common.spreadsheet import XLSX, download
from devicetrack.errors import NotFound
from devicetrack.i18n import N_
from devicetrack.regions import service as regions
from devicetrack.reports import export as reports_export
from devicetrack.reports import service as reports
from devicetrack.reports.schemas import CoverageReport
from devicetrack.reports.service import current_school_year
from devicetrack.web.charts import LARGEST_GAPS
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


# Schools in one page of the dashboard's table (a province has up to ~2,400): the rest
# follow by "More", in the same order.
SCHOOLS_PER_PAGE = 100


# The table's default order, the gap report's own.
GAPS_ORDER = "-gap_after_incoming"


def _sort(sort: str | None) -> str:
    name = (sort or "-gap").lstrip("-")
    return sort if sort and name in SORTABLE else GAPS_ORDER


async def _schools_page(
    tx: AsyncSession,
    principal: Principal,
    code: str,
    year: str | None,
    sort: str,
    offset: int,
) -> CoverageReport:
    """The dashboard's page of schools from row `offset`, sorted and sliced in PostgreSQL."""
    return await reports.coverage(
        tx,
        principal,
        level="school",
        province=code,
        commune=None,
        year=year,
        target_per_100=100,
        sort=sort,
        limit=SCHOOLS_PER_PAGE,
        offset=offset,
    )


class ProvincePages(Controller):
    path = "/province"
    include_in_schema = False
    opt = LAG_TOLERANT  # dashboards read the replica when there is one

    @get("/")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        sort: str | None = None,
        year: str | None = None,
        start: int | None = None,
    ) -> Response[Any]:
        code = scope.dashboard_province(principal, province)
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
        sort = _sort(sort)
        schools, offset = await page_from_link(
            start,
            lambda offset: _schools_page(tx, principal, code, year, sort, offset),
            lambda report: report.items,
        )
        # The communes summed in PostgreSQL, and the province added up from them.
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
        whole = reports.rolled_up(communes, "province", sort=None)
        gaps = await reports.gaps(
            tx,
            principal,
            level="school",
            province=code,
            year=year,
            target_per_100=100,
            limit=LARGEST_GAPS,
            # In the default order the page's first rows are the largest gaps.
            first_page=schools if (sort, offset) == (GAPS_ORDER, 0) else None,
        )
        # The tiles show two numbers and link to their lists: counted, not listed.
        sims = await reports.sims_expiring_total(tx, principal, within_days=30, province=code)
        due = await reports.schools_due_total(tx, principal, province=code, days=180)
        end = offset + len(schools.items)
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
            rows=schools.items,
            first=offset + 1,
            more=end if end < schools.total_items else None,
            communes=communes,
            whole=whole.items[0] if whole.items else None,
            gaps=gaps,
            sims_total=sims,
            due_total=due,
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
        code = scope.dashboard_province(principal, province)
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
            raise NotFound(N_("No schools of yours in this commune."))
        return page(
            request,
            "commune.html",
            principal,
            report=report,
            code=code,
            commune=commune,
            sort=sort,
        )

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
        code = scope.dashboard_province(principal, province)
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

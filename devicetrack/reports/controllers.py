from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.heavy import heavy_work
from devicetrack.common.lag_tolerant import LAG_TOLERANT, NOT_LAG_TOLERANT
from devicetrack.common.pagination import Cursor, Limit, decode_offset
from devicetrack.privacy import service as access_log
from devicetrack.reports import export, service
from devicetrack.reports.schemas import (
    AuditDueReport,
    CoverageReport,
    DonorImpact,
    GapReport,
    SchoolsReachedPage,
    SimExpiryReport,
)

Year = Annotated[str | None, Parameter(pattern=r"^[0-9]{4}-[0-9]{4}$")]
Target = Annotated[int, Parameter(ge=1, le=1000)]
# Litestar documents but does not enforce bounds inside a union: the service checks them.
SimWindow = Annotated[int, Parameter(ge=0, le=service.SIM_WINDOW_MAX_DAYS)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]
    # Reports may be a moment behind: they read the replica when there is one.
    opt = LAG_TOLERANT

    @get("/coverage", operation_id="coverageReport")
    async def coverage(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        level: Literal["school", "commune", "province", "nation"] = "school",
        province: str | None = None,
        commune: str | None = None,
        year: Year = None,
        target_per_100: Target = 100,
        sort: str | None = None,
        format: Literal["json", "csv", "xlsx"] = "json",
        limit: Annotated[
            int, Parameter(ge=1, le=1000, description="Rows a page (JSON; the files have all)")
        ] = 50,
        cursor: Cursor = None,
    ) -> CoverageReport | Response[Any]:
        """Every §5 figure per school, commune, province or the nation, ordered by gap
        (largest first) unless `sort` names another column (prefix - for descending). As
        JSON, `limit` rows a page (`next_cursor` for the next; `total_items` in all); the CSV
        and Excel files hold every row."""
        paged = format == "json"
        report = await service.coverage(
            tx,
            principal,
            level=level,
            province=province,
            commune=commune,
            year=year,
            target_per_100=target_per_100,
            sort=sort,
            limit=limit if paged else None,
            offset=decode_offset(cursor) if paged else 0,
        )
        name = f"coverage-{level}-{report.year}"
        if format == "csv":
            # A Response, not a Stream: Litestar gives a Stream the route's media type (JSON)
            # over its own; the report is in memory already anyway.
            async with heavy_work(request).slot():
                body = await asyncio.to_thread(export.coverage_csv, report)
            return Response(
                body,
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        if format == "xlsx":
            handle = await export.coverage_xlsx(heavy_work(request), report)
            with handle:
                body = handle.read()  # one report's workbook: a few MB at most
            return Response(
                body,
                media_type=XLSX,
                headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            )
        return report

    @get("/gaps", operation_id="gapReport")
    async def gaps(
        self,
        tx: AsyncSession,
        principal: Principal,
        level: Literal["school", "commune"] = "school",
        province: str | None = None,
        year: Year = None,
        target_per_100: Target = 100,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
    ) -> GapReport:
        """The schools (or communes) furthest below the target, and how the province's
        in-stock devices would close their gaps."""
        return await service.gaps(
            tx,
            principal,
            level=level,
            province=province,
            year=year,
            target_per_100=target_per_100,
            limit=limit,
        )

    @get("/donors/{donor_id:int}/impact", operation_id="donorImpact")
    async def donor_impact(
        self, tx: AsyncSession, principal: Principal, donor_id: int
    ) -> DonorImpact:
        """A donor's devices by kind and status, the schools, communes and students they
        reached (the 100 schools holding most of them; every school via `/schools`)."""
        return await service.donor_impact(tx, principal, donor_id)

    @get("/donors/{donor_id:int}/schools", operation_id="donorSchoolsReached")
    async def donor_schools(
        self,
        tx: AsyncSession,
        principal: Principal,
        donor_id: int,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> SchoolsReachedPage:
        """Every school holding the donor's devices, most devices first, `limit` a page."""
        return await service.donor_schools_reached(
            tx, principal, donor_id, limit=limit, offset=decode_offset(cursor)
        )

    @get("/sim-expiry", operation_id="simExpiryReport", opt=NOT_LAG_TOLERANT)  # it writes
    async def sim_expiry(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        within_days: Annotated[
            SimWindow | Literal["all"],
            Parameter(description="Days ahead, or `all` for every SIM with an end date."),
        ] = 30,
        province: str | None = None,
        sims_after: Annotated[
            str | None,
            Parameter(description="Asset tag of the last SIM of the previous page of `sims`."),
        ] = None,
        sims_limit: Annotated[
            int,
            Parameter(
                ge=1,
                le=service.SIM_LIST_LIMIT,
                description="SIMs in `sims` (a list's default page: 50; `sims_after` for more).",
            ),
        ] = 50,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> SimExpiryReport:
        """SIMs whose plan ends within the window: per school in `items` (`limit` schools
        a page, soonest first, `next_cursor` for the next), and one by one in `sims`."""
        days = None if within_days == "all" else within_days
        report = await service.sim_expiry(
            tx,
            principal,
            within_days=days,
            province=province,
            sims_after=sims_after,
            sims_limit=sims_limit,
            limit=limit,
            cursor=cursor,
        )
        # The students whose tablets' SIMs lapse are named (admins, the school's staff):
        # a read of their personal fields for the child's access log.
        named = [s.student_id for g in report.items for s in g.students or []]
        await access_log.record(tx, principal, access_log.route_of(request), named)
        return report

    @get("/audit-due", operation_id="auditDueReport")
    async def audit_due(
        self,
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        school: int | None = None,
        days: Annotated[int, Parameter(ge=1, le=3650)] = 180,
        limit: Annotated[
            int, Parameter(ge=1, le=1000, description="Devices in `devices` (max 1000).")
        ] = 200,
        schools_limit: Annotated[
            int, Parameter(ge=1, le=1000, description="Schools in `schools` a page (max 1000).")
        ] = 50,
        schools_cursor: Annotated[
            str | None,
            Parameter(description="`schools_next_cursor` of the previous page of `schools`."),
        ] = None,
    ) -> AuditDueReport:
        """Schools whose last closed audit is older than `days` (or never), `schools_limit`
        a page (`schools_total` in all), and devices held but not seen for more than
        `days`."""
        return await service.audit_due(
            tx,
            principal,
            province=province,
            school=school,
            days=days,
            limit=limit,
            schools_limit=schools_limit,
            schools_offset=decode_offset(schools_cursor, "schools_cursor"),
        )

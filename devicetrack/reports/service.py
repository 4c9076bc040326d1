"""Coverage, gaps, donor impact, SIM expiry and audit-due reports (SPEC §5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.devices.values import LOCKED
from devicetrack.errors import DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from devicetrack.reports import coverage_sql
from devicetrack.reports.figures import pct
from devicetrack.reports.schemas import (
    AuditDueDevice,
    AuditDueReport,
    AuditDueSchool,
    CoverageReport,
    CoverageRow,
    DonorImpact,
    GapItem,
    GapReport,
    SchoolReached,
    SimExpiryGroup,
    SimExpiryReport,
    SimStudent,
    SimToTopUp,
)

SORTS = {
    "gap",
    "coverage_pct",
    "priority_coverage_pct",
    "devices_per_100",
    "enrolled",
    "devices_working",
    "students_with_device",
    "school_name",
    "commune_name",
    "province_name",
}
# Kinds a school can lend to a student as a learning device, most useful first.
LEARNING_KINDS = ("laptop", "tablet", "desktop", "smartphone")


def today() -> date:
    return local_today()


def current_school_year(on: date | None = None) -> str:
    on = on or today()
    start = on.year if on.month >= 8 else on.year - 1
    return f"{start}-{start + 1}"


async def _ensure_province_in_scope(
    session: AsyncSession, principal: Principal, province: str | None
) -> None:
    """A province named in a report's filter must be one the caller works in: an officer's
    own, or one holding a school of the staff member's. Any other answers 404, as every
    object outside a caller's scope does (and the same as a province that does not exist)."""
    if province is None or principal.is_admin or principal.is_donor:
        return  # admins see every province; donors are refused by role
    if principal.is_province_officer:
        allowed = province == principal.province_code
    elif principal.is_school_staff:
        allowed = province in await _provinces_of_schools(session, principal.school_ids)
    else:
        allowed = False
    if not allowed:
        raise NotFound(f"No province {province}.")


async def _provinces_of_schools(session: AsyncSession, school_ids: frozenset[int]) -> set[str]:
    if not school_ids:
        return set()
    rows = await session.execute(
        text("SELECT DISTINCT province_code FROM schools WHERE id = ANY(:ids)"),
        {"ids": sorted(school_ids)},
    )
    return {str(code) for (code,) in rows}


def _scope(
    principal: Principal, province: str | None, commune: str | None, params: dict[str, Any]
) -> str:
    """The WHERE clause of a report over schools; the province was checked against the
    caller's scope first (_ensure_province_in_scope)."""
    clauses = ["true"]
    if principal.is_donor:
        raise Forbidden("Donors get donor impact reports, not school coverage.")
    if principal.is_province_officer:
        province = principal.province_code
    if principal.is_school_staff:
        clauses.append("s.id = ANY(:school_ids)")
        params["school_ids"] = sorted(principal.school_ids)
    if province:
        clauses.append("s.province_code = :province")
        params["province"] = province
    if commune:
        clauses.append("s.commune_code = :commune")
        params["commune"] = commune
    return " AND ".join(clauses)


def _row(level: str, r: Any) -> CoverageRow:
    m = r._mapping
    return CoverageRow(
        level=level,
        enrolled=m["enrolled"],
        priority_enrolled=m["priority_enrolled"],
        devices_held=m["devices_held"],
        devices_working=m["devices_working"],
        students_with_device=m["students_with_device"],
        priority_with_device=m["priority_with_device"],
        students_connected=m["students_connected"],
        coverage_pct=pct(m["students_with_device"], m["enrolled"]),
        priority_coverage_pct=pct(m["priority_with_device"], m["priority_enrolled"]),
        devices_per_100=pct(m["devices_working"], m["enrolled"]),
        gap=m["gap"],
        overdue_audit=m["overdue_audit"],
        last_audit_at=m["last_audit_at"],
        schools=m.get("schools", 1),
        school_id=m.get("school_id"),
        school_code=m.get("school_code"),
        school_name=m.get("school_name"),
        commune_code=m.get("commune_code"),
        commune_name=m.get("commune_name"),
        province_code=m.get("province_code"),
        province_name=m.get("province_name"),
    )


def _sort(items: list[CoverageRow], sort: str | None) -> list[CoverageRow]:
    key = (sort or "-gap").strip()
    descending = key.startswith("-")
    name = key.lstrip("-+")
    if name not in SORTS:
        raise ValidationFailed(
            f"Unknown sort {name!r}.",
            errors=[FieldError(field="sort", message=f"use one of {', '.join(sorted(SORTS))}")],
        )
    present = [i for i in items if getattr(i, name) is not None]
    missing = [i for i in items if getattr(i, name) is None]
    present.sort(key=lambda i: getattr(i, name), reverse=descending)
    return present + missing


async def coverage(
    session: AsyncSession,
    principal: Principal,
    *,
    level: str,
    province: str | None,
    commune: str | None,
    year: str | None,
    target_per_100: int,
    sort: str | None,
) -> CoverageReport:
    on = today()
    if year is not None:
        start, end = (int(x) for x in year.split("-"))
        if end != start + 1:
            raise ValidationFailed(
                "A school year spans two consecutive years.",
                errors=[FieldError(field="year", message="use the form 2026-2027")],
            )
    year = year or current_school_year(on)
    params: dict[str, Any] = {
        "year": year,
        "today": on,
        "cutoff": on - timedelta(days=180),
        "target": target_per_100,
    }
    scope = _scope(principal, province, commune, params)
    await _ensure_province_in_scope(session, principal, province)
    rows = await session.execute(text(coverage_sql.rollup(level, scope)), params)
    items = [_row(level, r) for r in rows]
    if level == "nation" and items and items[0].schools == 0:
        items = []
    return CoverageReport(
        level=level,
        year=year,
        target_per_100=target_per_100,
        as_of=on,
        items=_sort(items, sort),
    )


async def gaps(
    session: AsyncSession,
    principal: Principal,
    *,
    level: str,
    province: str | None,
    year: str | None,
    target_per_100: int,
    limit: int,
) -> GapReport:
    if principal.is_province_officer:
        province = province or principal.province_code
    report = await coverage(
        session,
        principal,
        level=level,
        province=province,
        commune=None,
        year=year,
        target_per_100=target_per_100,
        sort="-gap",
    )
    items = [i for i in report.items if i.gap > 0][:limit]
    # coverage() above refused a province outside the caller's scope.
    stock = await _stock(session, principal, province)
    remaining = {k: stock.get(k, 0) for k in LEARNING_KINDS}
    gap_items = []
    for item in items:
        need, suggested = item.gap, {}
        for kind in LEARNING_KINDS:
            take = min(need, remaining[kind])
            if take:
                suggested[kind] = take
                remaining[kind] -= take
                need -= take
        gap_items.append(
            GapItem(
                school_id=item.school_id,
                school_name=item.school_name,
                commune_code=item.commune_code,
                commune_name=item.commune_name,
                enrolled=item.enrolled,
                devices_working=item.devices_working,
                gap=item.gap,
                coverage_pct=item.coverage_pct,
                suggested=suggested,
            )
        )
    total_gap = sum(i.gap for i in items)
    in_stock = sum(stock.get(k, 0) for k in LEARNING_KINDS)
    closable = min(total_gap, in_stock)
    held = ", ".join(f"{n} {k}" for k, n in stock.items() if n and k in LEARNING_KINDS)
    summary = (
        f"You hold {held or 'no learning devices'} in stock; these {len(items)} "
        f"{'schools' if level == 'school' else level + 's'} need {total_gap} to reach "
        f"{target_per_100} devices per 100 students."
    )
    return GapReport(
        province_code=province,
        level=level,
        year=report.year,
        target_per_100=target_per_100,
        stock=stock,
        total_gap=total_gap,
        closable_from_stock=closable,
        summary=summary,
        items=gap_items,
    )


async def _stock(
    session: AsyncSession, principal: Principal, province: str | None
) -> dict[str, int]:
    """The province's unallocated devices by kind, for those whose scope holds them: an
    admin (one province, or all) and the province's own officer. School staff see devices
    of their schools only, and stock belongs to no school: they see none."""
    if principal.is_province_officer:
        province = principal.province_code
    elif not principal.is_admin:
        return {}
    query = "SELECT kind, sum(devices)::int FROM stock_counts WHERE devices <> 0"
    params: dict[str, Any] = {}
    if province:
        query += " AND province_code = :province"
        params["province"] = province
    rows = await session.execute(text(query + " GROUP BY kind ORDER BY kind"), params)
    return {k: n for k, n in rows}


async def donor_impact(session: AsyncSession, principal: Principal, donor_id: int) -> DonorImpact:
    donor = (
        await session.execute(text("SELECT id, name FROM donors WHERE id = :id"), {"id": donor_id})
    ).first()
    if donor is None or (principal.is_donor and principal.donor_id != donor_id):
        raise NotFound(f"No donor {donor_id}.")
    if principal.is_school_staff:
        raise Forbidden("Donor impact is for donors, province officers and admins.")
    params: dict[str, Any] = {
        "donor": donor_id,
        "today": today(),
        "soon": today() + timedelta(days=30),
    }
    scope = ""
    if principal.is_province_officer:
        scope = " AND d.province_code = :province"
        params["province"] = principal.province_code
    by_kind_status: dict[str, dict[str, int]] = {}
    received: dict[str, int] = {}
    for kind, status, n in await session.execute(
        text(
            f"SELECT kind, status, count(*)::int FROM devices d WHERE donor_id = :donor{scope}"
            " GROUP BY kind, status ORDER BY kind, status"
        ),
        params,
    ):
        by_kind_status.setdefault(kind, {})[status] = n
        received[kind] = received.get(kind, 0) + n
    pledged = {
        k: n
        for k, n in await session.execute(
            text(
                "SELECT l.kind, sum(l.quantity)::int FROM donation_lines l JOIN donations d"
                f" ON d.id = l.donation_id WHERE d.donor_id = :donor{scope} GROUP BY l.kind"
            ),
            params,
        )
    }
    condition = {
        c: n
        for c, n in await session.execute(
            text(
                f"SELECT condition, count(*)::int FROM devices d WHERE donor_id = :donor{scope}"
                " GROUP BY condition"
            ),
            params,
        )
    }
    schools = [
        SchoolReached(
            school_id=r[0],
            school_name=r[1],
            commune_code=r[2],
            commune_name=r[3],
            province_code=r[4],
            devices=r[5],
        )
        for r in await session.execute(
            text(
                "SELECT s.id, s.name, s.commune_code, c.name, s.province_code, count(*)::int"
                " FROM devices d JOIN schools s ON s.id = d.school_id JOIN communes c"
                f" ON c.code = s.commune_code WHERE d.donor_id = :donor{scope}"
                " AND d.status IN ('allocated','at_school','assigned','in_repair')"
                " GROUP BY s.id, s.name, s.commune_code, c.name, s.province_code ORDER BY s.name"
            ),
            params,
        )
    ]
    students = (
        await session.execute(
            text(
                "SELECT count(DISTINCT a.student_id)::int,"
                " count(DISTINCT a.student_id) FILTER (WHERE a.returned_at IS NULL)::int"
                " FROM assignments a JOIN devices d ON d.id = a.device_id"
                f" WHERE d.donor_id = :donor{scope}"
            ),
            params,
        )
    ).one()
    sims = (
        await session.execute(
            text(
                "SELECT count(*) FILTER (WHERE plan_expires_on BETWEEN :today AND :soon)::int,"
                " count(*) FILTER (WHERE plan_expires_on < :today)::int FROM devices d"
                f" WHERE donor_id = :donor AND kind = 'sim' AND status <> 'retired'{scope}"
            ),
            params,
        )
    ).one()
    locks = {
        lock: n
        for lock, n in await session.execute(
            text(
                "SELECT activation_lock, count(*)::int FROM devices d WHERE donor_id = :donor"
                f" AND status <> 'retired'{scope} GROUP BY activation_lock"
            ),
            params,
        )
    }
    flat = [(s, n) for statuses in by_kind_status.values() for s, n in statuses.items()]
    return DonorImpact(
        donor_id=donor_id,
        donor_name=donor[1],
        devices_total=sum(n for _, n in flat),
        by_kind_status=by_kind_status,
        pledged=pledged,
        received=received,
        condition=condition,
        lost_or_stolen=sum(n for s, n in flat if s in ("lost", "stolen")),
        retired=sum(n for s, n in flat if s == "retired"),
        schools_reached=schools,
        communes_reached=len({s.commune_code for s in schools}),
        provinces_reached=len({s.province_code for s in schools}),
        students_reached=students[0],
        students_with_device_now=students[1],
        sims_expiring_30_days=sims[0],
        sims_expired=sims[1],
        locked=sum(n for lock, n in locks.items() if lock in LOCKED),
        activation_lock=locks,
    )


# SIMs listed one by one in the expiry report (the per-school counts cover them all).
SIM_LIST_LIMIT = 2000


# The longest window a caller may name in days; `None` (the API's `all`) has no end.
SIM_WINDOW_MAX_DAYS = 3650


async def sim_expiry(
    session: AsyncSession, principal: Principal, *, within_days: int | None, province: str | None
) -> SimExpiryReport:
    """SIMs whose plan ends within `within_days` from today (the lapsed ones included), or
    every SIM with an end date when `within_days` is None: a telecom's SIMs may run a year,
    and a province planning top-ups wants to see them all."""
    if principal.is_donor:
        raise Forbidden("Donors see SIM expiry in their impact report.")
    if within_days is not None and not 0 <= within_days <= SIM_WINDOW_MAX_DAYS:
        raise DomainError(
            f"within_days must be between 0 and {SIM_WINDOW_MAX_DAYS}, or all.",
            errors=[FieldError(field="within_days", message=f"0–{SIM_WINDOW_MAX_DAYS} or all")],
        )
    on = today()
    params: dict[str, Any] = {"today": on}
    clauses = ["sim.kind = 'sim'", "sim.status <> 'retired'"]
    if within_days is None:
        clauses.append("sim.plan_expires_on IS NOT NULL")
    else:
        clauses.append("sim.plan_expires_on <= :until")
        params["until"] = on + timedelta(days=within_days)
    await _ensure_province_in_scope(session, principal, province)
    if principal.is_province_officer:
        province = principal.province_code
    if principal.is_school_staff:
        clauses.append("sim.school_id = ANY(:schools)")
        params["schools"] = sorted(principal.school_ids)
    if province:
        clauses.append("sim.province_code = :province")
        params["province"] = province
    where = " AND ".join(clauses)
    rows = await session.execute(
        text(f"""
        SELECT sim.school_id, s.name, count(*)::int,
               count(*) FILTER (WHERE sim.plan_expires_on < :today)::int,
               min(sim.plan_expires_on),
               array_remove(array_agg(DISTINCT a.student_id), NULL)
          FROM devices sim
          LEFT JOIN schools s ON s.id = sim.school_id
          LEFT JOIN assignments a ON a.device_id = sim.installed_in_id AND a.returned_at IS NULL
         WHERE {where}
         GROUP BY sim.school_id, s.name ORDER BY min(sim.plan_expires_on), sim.school_id
    """),
        params,
    )
    groups = []
    for school_id, name, sims, expired, earliest, student_ids in rows:
        group = SimExpiryGroup(
            school_id=school_id,
            school_name=name,
            sims=sims,
            expired=expired,
            earliest_expiry=earliest,
            students_affected=len(student_ids or []),
        )
        if school_id is not None and (
            principal.is_admin or (principal.is_school_staff and school_id in principal.school_ids)
        ):
            people = await session.execute(
                text(
                    "SELECT id, student_code, full_name FROM students WHERE id = ANY(:ids)"
                    " ORDER BY student_code"
                ),
                {"ids": list(student_ids or [])},
            )
            group.students = [
                SimStudent(student_id=i, student_code=c, full_name=n) for i, c, n in people
            ]
        groups.append(group)
    params["limit"] = SIM_LIST_LIMIT
    sims = [
        SimToTopUp(*r)  # the columns are selected in the struct's field order
        for r in await session.execute(
            text(f"""
        SELECT sim.asset_tag, sim.iccid, sim.msisdn, sim.carrier, sim.plan_name,
               sim.plan_expires_on, sim.school_id, sc.name, h.asset_tag, a.id IS NOT NULL
          FROM devices sim
          LEFT JOIN schools sc ON sc.id = sim.school_id
          LEFT JOIN devices h ON h.id = sim.installed_in_id
          LEFT JOIN assignments a ON a.device_id = sim.installed_in_id AND a.returned_at IS NULL
         WHERE {where}
         ORDER BY sim.plan_expires_on, sim.asset_tag LIMIT :limit + 1"""),
            params,
        )
    ]
    return SimExpiryReport(
        within_days=within_days,
        as_of=on,
        total_sims=sum(g.sims for g in groups),
        items=groups,
        sims=sims[:SIM_LIST_LIMIT],
        sims_truncated=len(sims) > SIM_LIST_LIMIT,
    )


async def audit_due(
    session: AsyncSession,
    principal: Principal,
    *,
    province: str | None,
    school: int | None,
    days: int,
    limit: int,
) -> AuditDueReport:
    on = today()
    params: dict[str, Any] = {"cutoff": datetime.now(UTC) - timedelta(days=days), "limit": limit}
    scope = _scope(principal, province, None, params)
    await _ensure_province_in_scope(session, principal, province)
    if school is not None:
        scope += " AND s.id = :school"
        params["school"] = school
    schools = [
        AuditDueSchool(school_id=r[0], school_name=r[1], last_audit_at=r[2], devices_held=r[3])
        for r in await session.execute(
            text(f"""
        SELECT s.id, s.name, c.last_audit_at, c.devices_held
          FROM schools s JOIN school_counts c ON c.school_id = s.id
         WHERE s.active AND {scope} AND c.devices_held > 0
           AND (c.last_audit_at IS NULL OR c.last_audit_at < :cutoff)
         ORDER BY c.devices_held DESC, c.last_audit_at NULLS FIRST, s.id"""),
            params,
        )
    ]
    devices = [
        AuditDueDevice(
            asset_tag=r[0],
            kind=r[1],
            status=r[2],
            school_id=r[3],
            last_seen_at=r[4],
            received_at=r[5],
        )
        for r in await session.execute(
            text(f"""
        SELECT d.asset_tag, d.kind, d.status, d.school_id, d.last_seen_at, d.received_at
          FROM devices d JOIN schools s ON s.id = d.school_id
         WHERE {scope} AND d.kind <> 'sim'
           AND d.status IN ('allocated','at_school','assigned','in_repair')
           AND coalesce(d.last_seen_at, d.received_at) < :cutoff
         ORDER BY coalesce(d.last_seen_at, d.received_at), d.id LIMIT :limit + 1"""),
            params,
        )
    ]
    return AuditDueReport(
        days=days,
        as_of=on,
        schools=schools,
        devices=devices[:limit],
        devices_truncated=len(devices) > limit,
    )

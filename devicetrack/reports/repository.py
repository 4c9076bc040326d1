"""The reports' queries (SPEC §5): coverage per school and its roll-ups, the province's stock,
donor impact, SIM expiry and audits due.

Built with SQLAlchemy Core: every value a caller gives is a bound parameter and no SQL is
pasted together from text, so each shape of query (a level, a scope) is one statement the
server can prepare. The caller's scope is added by one function per domain: `in_scope` here
for schools and the counter tables that carry a school's keys, `visible_devices` and
`visible_donations` of those domains for devices and pledges. Per-school figures come from the
trigger-kept counter tables (school_counts, school_seen, school_connected), never from
scanning devices; `coverage_sql.FROM_SCRATCH` computes them from scratch for the tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    Integer,
    Row,
    Select,
    String,
    and_,
    any_,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import SQLCoreOperations

from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import restrict
from devicetrack.devices.lifecycle import SCHOOL_HELD
from devicetrack.devices.models import Device
from devicetrack.devices.repository import visible_devices
from devicetrack.devices.values import DeviceKind, DeviceStatus
from devicetrack.donations.models import Donation, PledgedLine
from devicetrack.donations.repository import visible_donations
from devicetrack.donors.models import Donor
from devicetrack.regions.models import Commune, Province
from devicetrack.reports.models import (
    DonorStudents,
    SchoolConnected,
    SchoolCounts,
    SchoolSeen,
    StockCounts,
)
from devicetrack.schools.models import Enrolment, School
from devicetrack.students.models import Assignment, Student

# Rows of a query whose columns the service reads by position.
Rows = Sequence[Row[*tuple[Any, ...]]]


def const(value: str) -> ColumnElement[str]:
    """A fixed value of the domain (a kind, a status) written into the statement as a
    literal, as the SQL these queries replaced did: the planner sees the value in every plan,
    the generic one included (PERF-NOTES, "PostgreSQL traps")."""
    return literal(str(value), String, literal_execute=True)


def consts(values: Iterable[str]) -> list[ColumnElement[str]]:
    return [const(v) for v in sorted(values)]


SIM = const(DeviceKind.SIM)
# Devices a school holds (§5 devices_held) and those of them it has received: an allocated
# device is still on its way.
HELD = consts(SCHOOL_HELD)
RECEIVED = consts(SCHOOL_HELD - {DeviceStatus.ALLOCATED})


# ---- scope -----------------------------------------------------------------------------


class Owners(NamedTuple):
    """The columns that place a row of a per-school table: its school and that school's keys
    (the side counters carry copies of them, migration 0007)."""

    school: SQLCoreOperations[Any]
    province: SQLCoreOperations[str]
    commune: SQLCoreOperations[str]
    active: SQLCoreOperations[bool]


SCHOOLS = Owners(School.id, School.province_code, School.commune_code, School.active)
CONNECTED = Owners(
    SchoolConnected.school_id,
    SchoolConnected.province_code,
    SchoolConnected.commune_code,
    SchoolConnected.active,
)
SEEN = Owners(
    SchoolSeen.school_id, SchoolSeen.province_code, SchoolSeen.commune_code, SchoolSeen.active
)


def in_scope(
    principal: Principal,
    owners: Owners,
    *,
    province: str | None = None,
    commune: str | None = None,
    active_only: bool = True,
) -> list[ColumnExpressionArgument[bool]]:
    """The reports' scope: the schools the caller may see (auth.scope.restrict on the row's
    owners), within the province and commune asked for, active ones unless said otherwise.
    The service has refused donors and a province outside the caller's scope first."""
    where: list[ColumnExpressionArgument[bool]] = [
        restrict(principal, province=owners.province, school=owners.school)
    ]
    if active_only:
        where.insert(0, owners.active)
    if province:
        where.append(owners.province == province)
    if commune:
        where.append(owners.commune == commune)
    return where


async def school_in_scope(session: AsyncSession, principal: Principal, school: int) -> bool:
    """Is `school` one the caller may see (active or not)?"""
    found = await session.scalar(
        select(School.id).where(
            School.id == school, *in_scope(principal, SCHOOLS, active_only=False)
        )
    )
    return found is not None


async def provinces_of_schools(session: AsyncSession, school_ids: Iterable[int]) -> set[str]:
    ids = sorted(school_ids)
    if not ids:
        return set()
    rows = await session.execute(select(School.province_code).distinct().where(School.id.in_(ids)))
    return {str(code) for code in rows.scalars()}


# ---- coverage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """What a coverage figure is measured against: the school year's enrolment, today (SIM
    plans), the day before which a device counts as not seen, and the target per 100."""

    year: str
    today: date
    cutoff: date
    target_per_100: int


# Counts a roll-up sums over its schools (then the ratios are recomputed from the sums).
SUMMED = (
    "enrolled",
    "priority_enrolled",
    "devices_held",
    "devices_working",
    "devices_incoming",
    "students_with_device",
    "priority_with_device",
    "gap",
    "gap_after_incoming",
)
LEVEL_KEYS = {
    "commune": ("commune_code", "province_code"),
    "province": ("province_code",),
    "nation": (),
}


def _school_figures(period: Period) -> list[ColumnElement[Any]]:
    """A school's §5 counts from its enrolment and counter rows, labelled as the report's
    fields; the gap twice, as §5 defines it and after the devices on their way arrive."""
    enrolled = func.coalesce(Enrolment.students_total, 0)
    working = func.coalesce(SchoolCounts.devices_working, 0)
    incoming = func.coalesce(SchoolCounts.devices_incoming, 0)
    # ceil(target × enrolled / 100) in integers (both are ≥ 0): the devices the target asks.
    needed = (literal(period.target_per_100, Integer) * enrolled + 99) // 100
    return [
        enrolled.label("enrolled"),
        func.coalesce(Enrolment.priority_students, 0).label("priority_enrolled"),
        func.coalesce(SchoolCounts.devices_held, 0).label("devices_held"),
        working.label("devices_working"),
        incoming.label("devices_incoming"),
        func.coalesce(SchoolCounts.students_with_device, 0).label("students_with_device"),
        func.coalesce(SchoolCounts.priority_with_device, 0).label("priority_with_device"),
        func.greatest(0, needed - working).label("gap"),
        func.greatest(0, needed - working - incoming).label("gap_after_incoming"),
    ]


def _with_counters(schools: Any, period: Period) -> Any:
    """The scoped schools joined to their enrolment for the year and their counter row."""
    return schools.outerjoin(
        Enrolment,
        and_(
            Enrolment.school_id == schools.c.id,
            Enrolment.school_year == period.year,
        ),
    ).outerjoin(SchoolCounts, SchoolCounts.school_id == schools.c.id)


def coverage_rollup(
    principal: Principal,
    period: Period,
    level: str,
    *,
    province: str | None,
    commune: str | None,
) -> Select[Any]:
    """A commune's, province's or the nation's figures, aggregated straight to their groups
    instead of building a row per school first; names joined after aggregation."""
    keys = LEVEL_KEYS[level]
    scoped = (
        select(School.id, School.commune_code, School.province_code)
        .where(*in_scope(principal, SCHOOLS, province=province, commune=commune))
        .cte("scoped")
    )
    per_school = (
        select(*(scoped.c[k] for k in keys), *_school_figures(period), SchoolCounts.last_audit_at)
        .select_from(_with_counters(scoped, period))
        .cte("per_school")
    )
    totals = (
        select(
            *(per_school.c[k] for k in keys),
            cast(func.count(), Integer).label("schools"),
            *(cast(func.coalesce(func.sum(per_school.c[f]), 0), Integer).label(f) for f in SUMMED),
            func.max(per_school.c.last_audit_at).label("last_audit_at"),
        )
        .group_by(*(per_school.c[k] for k in keys))
        .cte("totals")
    )

    def side(table: Any, owners: Owners, figure: str, value: Any, when: Any) -> Any:
        """A time-dependent figure summed from a side counter by the keys copied onto it."""
        columns = [table.__table__.c[k] for k in keys]
        return (
            select(*columns, cast(func.sum(value), Integer).label(figure))
            .where(*in_scope(principal, owners, province=province, commune=commune), when)
            .group_by(*columns)
            .cte(figure)
        )

    conn = side(
        SchoolConnected,
        CONNECTED,
        "students_connected",
        SchoolConnected.students,
        SchoolConnected.until >= period.today,
    )
    seen = side(
        SchoolSeen, SEEN, "overdue_audit", SchoolSeen.devices, SchoolSeen.seen_on < period.cutoff
    )

    def on(other: Any) -> ColumnElement[bool]:
        return and_(*(other.c[k] == totals.c[k] for k in keys)) if keys else true()

    rows = (
        select(
            totals,
            func.coalesce(conn.c.students_connected, 0).label("students_connected"),
            func.coalesce(seen.c.overdue_audit, 0).label("overdue_audit"),
        )
        .select_from(totals.outerjoin(conn, on(conn)).outerjoin(seen, on(seen)))
        .subquery("r")
    )
    names: list[ColumnElement[Any]] = []
    joined: Any = rows
    if "commune_code" in keys:
        names.append(Commune.name.label("commune_name"))
        joined = joined.outerjoin(Commune, Commune.code == rows.c.commune_code)
    if "province_code" in keys:
        names.append(Province.name.label("province_name"))
        joined = joined.outerjoin(Province, Province.code == rows.c.province_code)
    return select(rows, *names).select_from(joined)


async def coverage_rows(session: AsyncSession, query: Select[Any]) -> Rows:
    rows: Rows = (await session.execute(query)).all()
    return rows


# A ratio field's exact value as a fraction of two counts: rows are ordered by the exact
# share (an IEEE division, as `sort_value` does in Python), not by its rounded display.
RATIOS = {
    "coverage_pct": ("students_with_device", "enrolled"),
    "priority_coverage_pct": ("priority_with_device", "priority_enrolled"),
    "devices_per_100": ("devices_working", "enrolled"),
}
NAMES = ("school_name", "commune_name", "province_name")


@dataclass(frozen=True)
class Order:
    """A coverage field to sort by, its direction, and the slice of rows wanted."""

    field: str
    descending: bool
    offset: int = 0
    limit: int | None = None


class CoveragePage(NamedTuple):
    rows: Rows
    # Rows in all pages.
    total: int


def _ordering(rows: Any, order: Order) -> list[Any]:
    """`order` over the columns of `rows`: the field (rows without a value last), then the
    place (province, commune, school), as the service's `_sort` orders rows in Python."""
    if order.field in RATIOS:
        top, bottom = RATIOS[order.field]
        key: ColumnElement[Any] = cast(rows.c[top], DOUBLE_PRECISION) / func.nullif(
            rows.c[bottom], 0
        )
    elif order.field in NAMES:
        key = rows.c.sort_name.collate("C")
    else:
        key = rows.c[order.field]
    direction = key.desc() if order.descending else key.asc()
    return [
        direction.nulls_last(),
        rows.c.province_code.collate("C"),
        rows.c.commune_code.collate("C"),
        rows.c.school_id,
    ]


# The name a name sort orders by, from the table that holds it.
_SORT_NAMES: dict[str, Any] = {
    "school_name": School.name,
    "commune_name": Commune.name,
    "province_name": Province.name,
}


def _figures(
    principal: Principal,
    period: Period,
    *,
    province: str | None,
    commune: str | None,
    sort: str | None = None,
) -> Any:
    """The scoped schools' §5 figures from their counter rows, one row each with its place
    (and `sort_name` when `sort` names a name field): what a page of schools is sorted by,
    and what the schools short of the target are counted over."""
    sort_name = _SORT_NAMES.get(sort or "")
    schools: Any = School.__table__
    if sort == "commune_name":
        schools = schools.outerjoin(Commune, Commune.code == School.commune_code)
    elif sort == "province_name":
        schools = schools.outerjoin(Province, Province.code == School.province_code)
    scoped = (
        select(
            School.id,
            School.commune_code,
            School.province_code,
            *([sort_name.label("sort_name")] if sort_name is not None else []),
        )
        .select_from(schools)
        .where(*in_scope(principal, SCHOOLS, province=province, commune=commune))
        .cte("scoped")
    )
    return (
        select(
            scoped.c.id.label("school_id"),
            scoped.c.commune_code,
            scoped.c.province_code,
            *([scoped.c.sort_name] if sort_name is not None else []),
            *_school_figures(period),
            SchoolCounts.last_audit_at,
        )
        .select_from(_with_counters(scoped, period))
        .subquery("figures")
    )


async def coverage_page(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    order: Order,
    *,
    province: str | None,
    commune: str | None,
) -> CoveragePage:
    """The schools' §5 rows in `order`, `order.limit` from `order.offset`, and how many
    there are in all.

    PostgreSQL sorts and slices the schools by the figures of their counter rows (a nation's
    45,000 schools in a top-N sort over narrow rows: their numbers and codes), and only then
    names the page's schools and sums their day-dependent figures (students connected,
    devices overdue an audit) from the side counters: no sort field reads those, and summing
    them for every school of the nation was half of a page's time."""
    figures = _figures(principal, period, province=province, commune=commune, sort=order.field)
    page = (
        select(figures)
        .order_by(*_ordering(figures, order))
        .offset(order.offset)
        .limit(order.limit)
        .cte("page")
    )
    on_page = select(page.c.school_id)
    conn = (
        select(
            SchoolConnected.school_id,
            cast(func.sum(SchoolConnected.students), Integer).label("students"),
        )
        .where(SchoolConnected.until >= period.today, SchoolConnected.school_id.in_(on_page))
        .group_by(SchoolConnected.school_id)
        .subquery("conn")
    )
    seen = (
        select(SchoolSeen.school_id, cast(func.sum(SchoolSeen.devices), Integer).label("devices"))
        .where(SchoolSeen.seen_on < period.cutoff, SchoolSeen.school_id.in_(on_page))
        .group_by(SchoolSeen.school_id)
        .subquery("seen")
    )
    found: Rows = (
        await session.execute(
            select(
                page,
                School.code.label("school_code"),
                School.name.label("school_name"),
                Commune.name.label("commune_name"),
                Province.name.label("province_name"),
                func.coalesce(conn.c.students, 0).label("students_connected"),
                func.coalesce(seen.c.devices, 0).label("overdue_audit"),
            )
            .select_from(
                page.join(School, School.id == page.c.school_id)
                .outerjoin(Commune, Commune.code == page.c.commune_code)
                .outerjoin(Province, Province.code == page.c.province_code)
                .outerjoin(conn, conn.c.school_id == page.c.school_id)
                .outerjoin(seen, seen.c.school_id == page.c.school_id)
            )
            .order_by(*_ordering(page, order))
        )
    ).all()
    # Counted apart: a window count over the sorted rows made PostgreSQL keep all 45,000.
    total = await session.scalar(
        select(func.count()).where(
            *in_scope(principal, SCHOOLS, province=province, commune=commune)
        )
    )
    return CoveragePage(found, int(total or 0))


async def count_short(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    *,
    province: str | None,
    commune: str | None,
) -> int:
    """How many of the schools in scope are still short of the target once the devices on
    their way arrive (gap_after_incoming > 0): a gap list shows the largest and counts
    the rest."""
    figures = _figures(principal, period, province=province, commune=commune)
    total = await session.scalar(
        select(func.count()).select_from(figures).where(figures.c.gap_after_incoming > 0)
    )
    return int(total or 0)


# ---- the province's stock ---------------------------------------------------------------


async def stock_by_kind(
    session: AsyncSession, principal: Principal, province: str | None
) -> dict[str, int]:
    """Unallocated devices by kind: a province's own officer and admins see them (one
    province, or all); stock belongs to no school, so school staff see none."""
    query = (
        select(StockCounts.kind, cast(func.sum(StockCounts.devices), Integer))
        .where(StockCounts.devices != 0, restrict(principal, province=StockCounts.province_code))
        .group_by(StockCounts.kind)
        .order_by(StockCounts.kind)
    )
    if province:
        query = query.where(StockCounts.province_code == province)
    return {str(kind): int(n) for kind, n in await session.execute(query)}


# ---- donor impact -----------------------------------------------------------------------


async def donor_name(session: AsyncSession, donor_id: int) -> str | None:
    return (await session.execute(select(Donor.name).where(Donor.id == donor_id))).scalar()


@dataclass(frozen=True)
class DonorFigures:
    by_kind_status: list[tuple[str, str, int]]
    pledged: dict[str, int]
    condition: dict[str, int]
    students_reached: int
    students_with_device_now: int
    sims_expiring: int
    sims_expired: int
    # Devices not retired, by activation lock (intake facts of used devices).
    activation_lock: dict[str, int]


async def donor_figures(
    session: AsyncSession, principal: Principal, donor_id: int, today: date, soon: date
) -> DonorFigures:
    """A donor's devices as the caller may see them (a province officer: their province's)."""
    mine = [Device.donor_id == donor_id, visible_devices(principal)]
    count = cast(func.count(), Integer)
    # One pass over the donor's devices (an index-only scan of ix_devices_donor_id_id, which
    # carries these columns: migration 0037) gives every count by kind, status, condition,
    # activation lock and SIM plan, summed here: a 100,000-device donor is one read of its
    # index entries, not five scans of 100,000 scattered rows.
    in_service = and_(Device.kind == SIM, Device.status != const(DeviceStatus.RETIRED))
    plan = case(
        (and_(in_service, Device.plan_expires_on < today), literal("expired")),
        (and_(in_service, Device.plan_expires_on.between(today, soon)), literal("expiring")),
        else_=null(),
    )
    by_kind_status_n: dict[tuple[str, str], int] = {}
    condition: dict[str, int] = {}
    locks: dict[str, int] = {}
    plans: dict[str, int] = {}
    for kind, status, cond, lock, plan_end, n in await session.execute(
        select(Device.kind, Device.status, Device.condition, Device.activation_lock, plan, count)
        .where(*mine)
        # By position: the plan's CASE holds bound dates, which PostgreSQL would not match
        # between the select list and a GROUP BY written out again.
        .group_by(*(literal_column(str(i)) for i in range(1, 6)))
    ):
        by_kind_status_n[(str(kind), str(status))] = by_kind_status_n.get((kind, status), 0) + n
        condition[str(cond)] = condition.get(str(cond), 0) + n
        if status != DeviceStatus.RETIRED:
            locks[str(lock)] = locks.get(str(lock), 0) + n
        if plan_end is not None:
            plans[str(plan_end)] = plans.get(str(plan_end), 0) + n
    by_kind_status = [(k, s, n) for (k, s), n in sorted(by_kind_status_n.items())]
    pledged = {
        str(k): int(n)
        for k, n in await session.execute(
            select(PledgedLine.kind, cast(func.sum(PledgedLine.quantity), Integer))
            .join(Donation, Donation.id == PledgedLine.donation_id)
            .where(Donation.donor_id == donor_id, visible_donations(principal))
            .group_by(PledgedLine.kind)
        )
    }
    # Kept by triggers (migration 0040): the donor's rows of its primary key's index, not
    # the donor's devices matched against every loan.
    student = DonorStudents.student_id
    reached, now = (
        await session.execute(
            select(
                cast(func.count(distinct(student)), Integer),
                cast(
                    func.count(distinct(student)).filter(DonorStudents.open_loans > 0),
                    Integer,
                ),
            ).where(
                DonorStudents.donor_id == donor_id,
                restrict(
                    principal, province=DonorStudents.province_code, donor=DonorStudents.donor_id
                ),
            )
        )
    ).one()
    return DonorFigures(
        activation_lock=locks,
        by_kind_status=by_kind_status,
        pledged=pledged,
        condition=condition,
        students_reached=int(reached),
        students_with_device_now=int(now),
        sims_expiring=plans.get("expiring", 0),
        sims_expired=plans.get("expired", 0),
    )


class DonorSchools(NamedTuple):
    # (school id, name, commune code, commune name, province code, devices) of the page
    rows: list[tuple[Any, ...]]
    # Schools, communes and provinces holding the donor's devices, in all pages.
    schools: int
    communes: int
    provinces: int


async def donor_schools(
    session: AsyncSession, principal: Principal, donor_id: int, *, limit: int, offset: int = 0
) -> DonorSchools:
    """The schools holding a donor's devices (as the caller may see them), most devices
    first, `limit` from `offset`, with how many schools, communes and provinces there are in
    all. The devices are counted per school from the donor's index entries before any school
    is joined (a 100,000-device donor reaches 11,000 schools), and only the page's schools
    are named."""
    count = cast(func.count(), Integer)
    held = (
        select(Device.school_id, count.label("devices"))
        .where(
            Device.donor_id == donor_id,
            visible_devices(principal),
            Device.status.in_(HELD),
            Device.school_id.is_not(None),
        )
        .group_by(Device.school_id)
        .cte("held")
    )
    placed = (
        select(
            held.c.school_id,
            held.c.devices,
            School.name.label("school_name"),
            School.commune_code,
            School.province_code,
        )
        .join(School, School.id == held.c.school_id)
        .cte("placed")
    )
    totals = select(
        count.label("schools"),
        cast(func.count(distinct(placed.c.commune_code)), Integer).label("communes"),
        cast(func.count(distinct(placed.c.province_code)), Integer).label("provinces"),
    ).subquery("totals")
    # Most devices first; ties by name, then id (the same order on every request).
    order = (placed.c.devices.desc(), placed.c.school_name, placed.c.school_id)
    page = select(placed).order_by(*order).offset(offset).limit(limit).subquery("page")
    found = (
        await session.execute(
            select(
                page.c.school_id,
                page.c.school_name,
                page.c.commune_code,
                Commune.name,
                page.c.province_code,
                page.c.devices,
                totals,
            )
            .select_from(page)
            .join(Commune, Commune.code == page.c.commune_code)
            .join(totals, true())
            .order_by(page.c.devices.desc(), page.c.school_name, page.c.school_id)
        )
    ).all()
    if found:
        first = found[0]
        return DonorSchools(
            [tuple(r[:6]) for r in found], first.schools, first.communes, first.provinces
        )
    # A page past the end (or no school at all): the totals alone.
    schools, communes, provinces = (await session.execute(select(totals))).one()
    return DonorSchools([], int(schools), int(communes), int(provinces))


# ---- SIM expiry -------------------------------------------------------------------------


def sims_ending(
    principal: Principal, *, until: date | None, province: str | None, since: date | None = None
) -> list[ColumnElement[bool]]:
    """SIMs in service whose plan ends by `until` (lapsed ones included unless `since` says
    from which day), or every SIM with an end date when `until` is None; the caller's and
    the province's."""
    where = [
        Device.kind == SIM,
        Device.status != const(DeviceStatus.RETIRED),
        Device.plan_expires_on.is_not(None) if until is None else Device.plan_expires_on <= until,
        visible_devices(principal),
    ]
    if since is not None:
        where.append(Device.plan_expires_on >= since)
    if province:
        where.append(Device.province_code == province)
    return where


async def count_devices(session: AsyncSession, where: list[ColumnElement[bool]]) -> int:
    return int(await session.scalar(select(func.count()).select_from(Device).where(*where)) or 0)


# A SIM's host's open loan: the student whose tablet (or phone) the SIM connects.
_open_loan = and_(
    Assignment.device_id == Device.installed_in_id,
    Assignment.returned_at.is_(None),
)


class SimGroupRow(NamedTuple):
    school_id: int | None
    school_name: str | None
    sims: int
    expired: int
    earliest_expiry: date | None
    student_ids: list[int]


# Where a group stands in the list: its earliest plan end, then its school (0: the stock).
SimGroupKey = tuple[date, int]


class SimGroupPage(NamedTuple):
    rows: list[SimGroupRow]
    # Every group's SIMs, not only this page's.
    total_sims: int
    # The key of the page's last group when more follow.
    next_key: SimGroupKey | None


# A SIM's group: its school, or 0 for the province's stock. The 0 is inlined, not bound,
# so that the expression matches the indexes of migrations 0041 and 0042 in a generic plan
# too.
sim_group = func.coalesce(Device.school_id, literal_column("0"))
# SIMs read at a time while walking them in (plan end, group) order for a page's schools.
WALK_BATCH = 2000


def _keys(keys: Iterable[int]) -> ColumnElement[bool]:
    return sim_group == any_(cast(sorted(keys), ARRAY(Integer)))


async def _all_group_keys(
    session: AsyncSession, where: list[ColumnElement[bool]]
) -> list[SimGroupKey]:
    """Every group's (earliest plan end, key), in order: one aggregate over the SIMs."""
    rows = await session.execute(
        select(func.min(Device.plan_expires_on), sim_group)
        .where(*where)
        .group_by(sim_group)
        .order_by(func.min(Device.plan_expires_on), sim_group)
    )
    # `where` has the plan end not null (sims_ending).
    return [(d, int(k)) for d, k in rows if d is not None]


async def _first_group_keys(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    limit: int,
    after: SimGroupKey | None,
) -> list[SimGroupKey]:
    """The first `limit` + 1 groups' (earliest plan end, key) after `after`, found by walking
    the SIMs in (plan end, group, tag) order (ix_devices_sims_walk, migration 0042) from just
    after `after`: the walk meets each group first at exactly its place in the list, so it
    stops as soon as it has met `limit` + 1 groups that did not come on an earlier page
    (those with a SIM at or before `after`). Walked by plan end and tag instead, a page could
    not stop inside a day: a day on which thousands of SIMs' plans end was read whole on
    every page of it."""
    plan = Device.plan_expires_on
    found: list[SimGroupKey] = []
    met: set[int] = set()  # groups the walk has passed: listed, or from an earlier page
    resume: tuple[date, int, str] | None = None
    while True:
        # One row comparison, where the index scan starts: given the cursor's and the
        # batch's both, PostgreSQL started every batch at the cursor and read again all
        # that the walk had passed (the batch's implies the cursor's).
        if resume is not None:
            position = [tuple_(plan, sim_group, Device.asset_tag) > resume]
        else:
            position = [] if after is None else [tuple_(plan, sim_group) > after]
        rows = (
            await session.execute(
                select(plan, sim_group, Device.asset_tag)
                .where(*where, *position)
                .order_by(plan, sim_group, Device.asset_tag)
                .limit(WALK_BATCH)
            )
        ).all()
        new: dict[int, date] = {}
        # `where` (sims_ending) has the plan end not null.
        for day, key, _ in rows:
            if day is not None and int(key) not in met and int(key) not in new:
                new[int(key)] = day
        met.update(new)
        if after is not None and new:
            # A group with a SIM at or before `after` was listed on an earlier page.
            listed = await session.scalars(
                select(sim_group)
                .distinct()
                .where(
                    *where,
                    _keys(new),
                    plan <= after[0],
                    or_(plan < after[0], sim_group <= after[1]),
                )
            )
            for key in listed:
                new.pop(int(key))
        found += sorted((day, key) for key, day in new.items())
        if len(found) > limit or len(rows) < WALK_BATCH:
            return found[: limit + 1]
        day, key, tag = rows[-1]
        if day is None:
            return found[: limit + 1]
        resume = (day, int(key), str(tag))


async def _students_connected(
    session: AsyncSession, where: list[ColumnElement[bool]], keys: list[int]
) -> dict[int, list[int]]:
    """Per group key, the students holding (on an open loan) a device that one of the group's
    SIMs is in. Two index-driven reads: the groups' SIMs' hosts, then the hosts' open loans
    (as one join, PostgreSQL hashed every open loan of the nation: 480 ms)."""
    if not keys:
        return {}
    hosts: dict[int, int] = {
        host: int(key)
        for key, host in await session.execute(
            select(sim_group, Device.installed_in_id).where(
                *where, _keys(keys), Device.installed_in_id.is_not(None)
            )
        )
        if host is not None
    }
    students: dict[int, set[int]] = {}
    if hosts:
        for device_id, student_id in await session.execute(
            select(Assignment.device_id, Assignment.student_id).where(
                Assignment.device_id == any_(cast(sorted(hosts), ARRAY(Integer))),
                Assignment.returned_at.is_(None),
            )
        ):
            students.setdefault(hosts[int(device_id)], set()).add(int(student_id))
    return {key: sorted(ids) for key, ids in students.items()}


async def sim_groups(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    today: date,
    *,
    limit: int | None = None,
    after: SimGroupKey | None = None,
) -> SimGroupPage:
    """The SIMs per school (None: the province's stock), soonest first, `limit` schools
    after `after` (None: all), with the students whose lent devices they connect.

    A page's schools are found by walking the SIMs in plan-end order (`_first_group_keys`),
    then only their SIMs are counted and only their students named; the total counts every
    SIM of the window from the index. The file (no `limit`) aggregates every group at once."""
    if limit is None:
        keys = await _all_group_keys(session, where)
        more = False
    else:
        keys = await _first_group_keys(session, where, limit, after)
        more = len(keys) > limit
        keys = keys[:limit]
    total = await count_devices(session, where)
    counted: dict[int, tuple[int, int]] = {}
    names: dict[int, str] = {}
    if keys:
        wanted = _keys(k for _, k in keys)
        for key, sims, expired in await session.execute(
            select(
                sim_group,
                cast(func.count(), Integer),
                cast(func.count().filter(Device.plan_expires_on < today), Integer),
            )
            .where(*where, wanted)
            .group_by(sim_group)
        ):
            counted[int(key)] = (int(sims), int(expired))
        names = {
            i: str(n)
            for i, n in await session.execute(
                select(School.id, School.name).where(
                    School.id == any_(cast([k for _, k in keys if k], ARRAY(Integer)))
                )
            )
            if i is not None
        }
    students = await _students_connected(session, where, [k for _, k in keys])
    rows = [
        SimGroupRow(
            key or None,
            names.get(key),
            counted.get(key, (0, 0))[0],
            counted.get(key, (0, 0))[1],
            earliest,
            students.get(key, []),
        )
        for earliest, key in keys
    ]
    next_key = keys[-1] if more and keys else None
    return SimGroupPage(rows, total, next_key)


async def students_named(session: AsyncSession, student_ids: Iterable[int]) -> Rows:
    """(id, code, name) of these students in one query, by student code."""
    ids = sorted(set(student_ids))
    if not ids:
        return []
    rows: Rows = (
        await session.execute(
            select(Student.id, Student.student_code, Student.full_name)
            # One array parameter, not one per student: a nation's report names tens of
            # thousands, past the driver's limit of 32,767 arguments.
            .where(Student.id == any_(cast(ids, ARRAY(Integer))))
            .order_by(Student.student_code, Student.id)
        )
    ).all()
    return rows


_host = aliased(Device, name="host")


async def sim_position(
    session: AsyncSession, where: list[ColumnElement[bool]], asset_tag: str
) -> tuple[date, str] | None:
    """Where the SIM `asset_tag` stands in the list (its plan end and tag), if it is one of
    the SIMs `where` selects."""
    row = (
        await session.execute(
            select(Device.plan_expires_on, Device.asset_tag).where(
                *where, Device.asset_tag == asset_tag
            )
        )
    ).first()
    # `where` has the plan end not null (sims_ending).
    return None if row is None or row[0] is None else (row[0], row[1])


async def sims_to_top_up(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    limit: int,
    *,
    after: tuple[date, str] | None = None,
) -> list[tuple[Any, ...]]:
    """The SIMs one by one, soonest first, in SimToTopUp's field order (`limit` + 1 rows, so
    the caller can tell there are more). The page of SIMs is chosen first (read in order
    from ix_devices_sims_ending), and only its rows are joined to their school, host and
    loan: a province's 12,000 SIMs ending within the month were all joined, then sorted."""
    later = [] if after is None else [tuple_(Device.plan_expires_on, Device.asset_tag) > after]
    page = (
        select(Device.id, Device.plan_expires_on, Device.asset_tag)
        .where(*where, *later)
        .order_by(Device.plan_expires_on, Device.asset_tag)
        .limit(limit + 1)
        .subquery("page")
    )
    rows = await session.execute(
        select(
            Device.asset_tag,
            Device.iccid,
            Device.msisdn,
            Device.carrier,
            Device.plan_name,
            Device.plan_expires_on,
            Device.school_id,
            School.name,
            _host.asset_tag,
            Assignment.id.is_not(None),
        )
        .select_from(page)
        .join(Device, Device.id == page.c.id)
        .outerjoin(School, School.id == Device.school_id)
        .outerjoin(_host, _host.id == Device.installed_in_id)
        .outerjoin(Assignment, _open_loan)
        .order_by(page.c.plan_expires_on, page.c.asset_tag)
    )
    return [tuple(r) for r in rows]


# ---- audits due -------------------------------------------------------------------------


def _due(
    principal: Principal, *, province: str | None, school: int | None, cutoff: datetime
) -> list[ColumnExpressionArgument[bool]]:
    """Active schools in scope that hold devices they have received (one whose devices are
    all still on their way has nothing to audit) and whose last audit is older than
    `cutoff`, or that were never audited (over School joined to its SchoolCounts)."""
    where = in_scope(principal, SCHOOLS, province=province)
    if school is not None:
        where.append(School.id == school)
    last = SchoolCounts.last_audit_at
    return [
        *where,
        SchoolCounts.devices_held > SchoolCounts.devices_incoming,
        or_(last.is_(None), last < cutoff),
    ]


async def schools_due(
    session: AsyncSession,
    principal: Principal,
    *,
    province: str | None,
    school: int | None,
    cutoff: datetime,
    offset: int = 0,
    limit: int | None = None,
) -> Rows:
    """(id, name, last audit, devices held) of the schools due an audit (`_due`), those
    holding most first; `limit` of them from `offset` (None: all)."""
    last = SchoolCounts.last_audit_at
    rows: Rows = (
        await session.execute(
            select(School.id, School.name, last, SchoolCounts.devices_held)
            .join(SchoolCounts, SchoolCounts.school_id == School.id)
            .where(*_due(principal, province=province, school=school, cutoff=cutoff))
            .order_by(SchoolCounts.devices_held.desc(), last.asc().nulls_first(), School.id)
            .offset(offset)
            .limit(limit)
        )
    ).all()
    return rows


async def count_schools_due(
    session: AsyncSession,
    principal: Principal,
    *,
    province: str | None,
    school: int | None,
    cutoff: datetime,
) -> int:
    """How many schools `schools_due` lists in all."""
    total = await session.scalar(
        select(func.count())
        .select_from(School)
        .join(SchoolCounts, SchoolCounts.school_id == School.id)
        .where(*_due(principal, province=province, school=school, cutoff=cutoff))
    )
    return int(total or 0)


async def devices_unseen(
    session: AsyncSession,
    principal: Principal,
    *,
    province: str | None,
    school: int | None,
    cutoff: datetime,
    limit: int,
) -> list[tuple[Any, ...]]:
    """Devices a school has received and nobody has seen (scanned, audited) since `cutoff`,
    longest unseen first; `limit` + 1 rows. Devices still on their way are not the
    school's to find."""
    where = in_scope(principal, SCHOOLS, province=province, active_only=False)
    if school is not None:
        where.append(School.id == school)
    seen = func.coalesce(Device.last_seen_at, Device.received_at)
    rows = await session.execute(
        select(
            Device.asset_tag,
            Device.kind,
            Device.status,
            Device.school_id,
            Device.last_seen_at,
            Device.received_at,
        )
        .join(School, School.id == Device.school_id)
        .where(*where, Device.kind != SIM, Device.status.in_(RECEIVED), seen < cutoff)
        .order_by(seen, Device.id)
        .limit(limit + 1)
    )
    return [tuple(r) for r in rows]

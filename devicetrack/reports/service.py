"""Coverage, gaps, donor impact, SIM expiry and audit-due reports (SPEC §5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.common.pagination import MAX_ID, decode_position, encode_offset, encode_position
from devicetrack.devices.values import LOCKED, DeviceKind, DeviceStatus
from devicetrack.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
    echo,
)
from devicetrack.i18n import N_, Message
from devicetrack.reports import repository as repo
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
    SchoolsReachedPage,
    SimExpiryGroup,
    SimExpiryReport,
    SimStudent,
    SimToTopUp,
)

SORTS = {
    "gap",
    "gap_after_incoming",
    "devices_incoming",
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
LEARNING_KINDS = (DeviceKind.LAPTOP, DeviceKind.TABLET, DeviceKind.DESKTOP, DeviceKind.SMARTPHONE)
LOST_OR_STOLEN = frozenset({DeviceStatus.LOST, DeviceStatus.STOLEN})


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
        allowed = province in await repo.provinces_of_schools(session, principal.school_ids)
    else:
        allowed = False
    if not allowed:
        raise NotFound(N_("No province {code}."), code=echo(province))


def _refuse_donors(principal: Principal) -> None:
    if principal.is_donor:
        raise Forbidden(N_("Donors get donor impact reports, not school coverage."))


def _row(level: str, r: Any) -> CoverageRow:
    m = r._mapping
    return CoverageRow(
        level=level,
        enrolled=m["enrolled"],
        priority_enrolled=m["priority_enrolled"],
        devices_held=m["devices_held"],
        devices_working=m["devices_working"],
        devices_incoming=m["devices_incoming"],
        students_with_device=m["students_with_device"],
        priority_with_device=m["priority_with_device"],
        students_connected=m["students_connected"],
        coverage_pct=pct(m["students_with_device"], m["enrolled"]),
        priority_coverage_pct=pct(m["priority_with_device"], m["priority_enrolled"]),
        devices_per_100=pct(m["devices_working"], m["enrolled"]),
        gap=m["gap"],
        gap_after_incoming=m["gap_after_incoming"],
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


def _place(row: CoverageRow) -> tuple[str, str, int]:
    return (row.province_code or "", row.commune_code or "", row.school_id or 0)


def _sort_field(sort: str | None) -> tuple[str, bool]:
    """The field a `sort` parameter names and whether it is descending (`-`); refused if
    it names no field."""
    key = (sort or "-gap").strip()
    name = key.lstrip("-+")
    if name not in SORTS:
        raise ValidationFailed(
            N_("Unknown sort {name!r}."),
            errors=[
                FieldError(
                    field="sort",
                    message=Message(N_("use one of {choices}"), choices=", ".join(sorted(SORTS))),
                )
            ],
            name=echo(name),
        )
    return name, key.startswith("-")


def _sort_value(row: CoverageRow, name: str) -> Any:
    """What a row is ordered by: a ratio by its exact share, not its rounded display
    (PostgreSQL orders the schools the same way: repository.coverage_page)."""
    if name in repo.RATIOS:
        top, bottom = repo.RATIOS[name]
        denominator = getattr(row, bottom)
        return getattr(row, top) / denominator if denominator > 0 else None
    return getattr(row, name)


def _sort(items: list[CoverageRow], sort: str | None) -> list[CoverageRow]:
    name, descending = _sort_field(sort)
    # Ties keep the order of place (province, commune, school): the same on every request.
    ordered = sorted(items, key=_place)
    present = [i for i in ordered if _sort_value(i, name) is not None]
    missing = [i for i in ordered if _sort_value(i, name) is None]
    present.sort(key=lambda i: _sort_value(i, name), reverse=descending)
    return present + missing


def _school_year(year: str | None, on: date) -> str:
    if year is None:
        return current_school_year(on)
    start, end = (int(x) for x in year.split("-"))
    if end != start + 1:
        raise ValidationFailed(
            N_("A school year spans two consecutive years."),
            errors=[FieldError(field="year", message=N_("use the form 2026-2027"))],
        )
    return year


def _period(year: str | None, target_per_100: int, on: date | None = None) -> repo.Period:
    """What coverage is measured against, as of `on` (today unless a report read already
    says which day it is of)."""
    on = on or today()
    return repo.Period(
        year=_school_year(year, on),
        today=on,
        cutoff=on - timedelta(days=180),
        target_per_100=target_per_100,
    )


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
    limit: int | None = None,
    offset: int = 0,
) -> CoverageReport:
    """The §5 figures at `level`, sorted; `limit` rows from row `offset` (None: every row,
    as the exports read them)."""
    period = _period(year, target_per_100)
    on = period.today
    _refuse_donors(principal)
    await _ensure_province_in_scope(session, principal, province)
    field, descending = _sort_field(sort)
    if level == "school":
        # Sorted and sliced in SQL: a page of a nation's schools builds its rows only.
        page = await repo.coverage_page(
            session,
            principal,
            period,
            repo.Order(field, descending, offset=offset, limit=limit),
            province=province,
            commune=commune,
        )
        items, total = [_row(level, r) for r in page.rows], page.total
    else:
        query = repo.coverage_rollup(principal, period, level, province=province, commune=commune)
        rows = [_row(level, r) for r in await repo.coverage_rows(session, query)]
        if level == "nation" and rows and rows[0].schools == 0:
            rows = []
        total = len(rows)
        items = _sort(rows, sort)[offset : total if limit is None else offset + limit]
    end = offset + len(items)
    return CoverageReport(
        level=level,
        year=period.year,
        target_per_100=target_per_100,
        as_of=on,
        items=items,
        total_items=total,
        next_cursor=encode_offset(end) if limit is not None and end < total else None,
    )


# The counts a roll-up adds up over its schools; the ratios are recomputed from the sums.
_ADDED = (
    "enrolled",
    "priority_enrolled",
    "devices_held",
    "devices_working",
    "devices_incoming",
    "students_with_device",
    "priority_with_device",
    "students_connected",
    "gap",
    "gap_after_incoming",
    "overdue_audit",
)
_ROLLUP_KEYS = {"commune": ("province_code", "commune_code"), "province": ("province_code",)}


# What each level rolls up into: a coarser level's rows add up a finer one's.
_FINER = {"commune": ("school",), "province": ("school", "commune")}


def rolled_up(report: CoverageReport, level: str, *, sort: str | None) -> CoverageReport:
    """The communes' or the province's figures added up from a school- or commune-level
    report (every row of it) already read for this caller, as `coverage(level=...)` would
    read them again from the counters (the same sums, the same ratios): a dashboard that
    shows the communes and their province reads the counters once."""
    if level not in _ROLLUP_KEYS or report.level not in _FINER[level]:
        raise ValueError(f"cannot roll {report.level} up to {level!r}")
    keys = _ROLLUP_KEYS[level]
    groups: dict[tuple[str | None, ...], list[CoverageRow]] = {}
    for row in report.items:
        groups.setdefault(tuple(getattr(row, k) for k in keys), []).append(row)
    items = []
    for members in groups.values():
        sums = {f: sum(getattr(r, f) for r in members) for f in _ADDED}
        audits = [r.last_audit_at for r in members if r.last_audit_at is not None]
        first = members[0]
        items.append(
            CoverageRow(
                level=level,
                **sums,
                coverage_pct=pct(sums["students_with_device"], sums["enrolled"]),
                priority_coverage_pct=pct(sums["priority_with_device"], sums["priority_enrolled"]),
                devices_per_100=pct(sums["devices_working"], sums["enrolled"]),
                last_audit_at=max(audits) if audits else None,
                schools=sum(r.schools for r in members),
                commune_code=first.commune_code if level == "commune" else None,
                commune_name=first.commune_name if level == "commune" else None,
                province_code=first.province_code,
                province_name=first.province_name,
            )
        )
    return CoverageReport(
        level=level,
        year=report.year,
        target_per_100=report.target_per_100,
        as_of=report.as_of,
        items=_sort(items, sort),
        total_items=len(items),
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
    first_page: CoverageReport | None = None,
) -> GapReport:
    """The schools (or communes) furthest below the target once the devices already on their
    way arrive, and how the stock would close what remains: ranking by the §5 gap alone
    listed a school that had just been allocated its devices first, inviting a second
    allocation. `short_total` counts all those short; `items` lists the first `limit`.
    `first_page`: the same schools' coverage from the first row in this order
    (`-gap_after_incoming`), already read for this caller by a page that shows both (the
    province dashboard in its default order); its first `limit` rows are not read again."""
    if principal.is_province_officer:
        province = province or principal.province_code
    # Schools: the top `limit` sorted in PostgreSQL and the short ones counted there (a
    # province has thousands); communes: all of them, a roll-up of a hundred rows.
    if (
        first_page is not None
        and level == first_page.level == "school"
        and first_page.target_per_100 == target_per_100
        and len(first_page.items) >= min(limit, first_page.total_items)
    ):
        report = first_page
    else:
        report = await coverage(
            session,
            principal,
            level=level,
            province=province,
            commune=None,
            year=year,
            target_per_100=target_per_100,
            sort="-gap_after_incoming",
            limit=limit if level == "school" else None,
        )
    short = [i for i in report.items if i.gap_after_incoming > 0]
    items = short[:limit]
    if level == "school":
        short_total = await repo.count_short(
            session,
            principal,
            _period(report.year, target_per_100, on=report.as_of),
            province=province,
            commune=None,
        )
    else:
        short_total = len(short)
    # coverage() above refused a province outside the caller's scope.
    stock = await stock_by_kind(session, principal, province)
    remaining = {k: stock.get(k, 0) for k in LEARNING_KINDS}
    gap_items = []
    for item in items:
        need, suggested = item.gap_after_incoming, dict[str, int]()
        for kind in LEARNING_KINDS:
            take = min(need, remaining[kind])
            if take:
                suggested[kind.value] = take
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
                devices_incoming=item.devices_incoming,
                gap=item.gap,
                gap_after_incoming=item.gap_after_incoming,
                coverage_pct=item.coverage_pct,
                suggested=suggested,
            )
        )
    total_gap = sum(i.gap for i in items)
    still_needed = sum(i.gap_after_incoming for i in items)
    in_stock = sum(stock.get(k, 0) for k in LEARNING_KINDS)
    held = ", ".join(f"{n} {k}" for k, n in stock.items() if n and k in LEARNING_KINDS)
    summary = (
        f"You hold {held or 'no learning devices'} in stock; these {len(items)} "
        f"{'schools' if level == 'school' else level + 's'} need {still_needed} more, besides "
        f"the devices on their way, to reach {target_per_100} devices per 100 students."
    )
    return GapReport(
        province_code=province,
        level=level,
        year=report.year,
        target_per_100=target_per_100,
        stock=stock,
        total_gap=total_gap,
        total_incoming=sum(i.devices_incoming for i in items),
        total_gap_after_incoming=still_needed,
        closable_from_stock=min(still_needed, in_stock),
        summary=summary,
        items=gap_items,
        short_total=short_total,
    )


async def stock_by_kind(
    session: AsyncSession, principal: Principal, province: str | None
) -> dict[str, int]:
    """The province's unallocated devices by kind, for those whose scope holds them: an
    admin (one province, or all) and the province's own officer. School staff see devices
    of their schools only, and stock belongs to no school: they see none."""
    if principal.is_province_officer:
        province = principal.province_code
    return await repo.stock_by_kind(session, principal, province)


# Schools the impact report names (most devices first); the rest page through
# `donor_schools_reached`.
SCHOOLS_REACHED_SHOWN = 100


async def _donor_in_scope(session: AsyncSession, principal: Principal, donor_id: int) -> str:
    """The donor's name, if the caller may read its impact: a donor its own; province
    officers (their province's part) and admins any donor's; school staff none."""
    name = await repo.donor_name(session, donor_id)
    if name is None or (principal.is_donor and principal.donor_id != donor_id):
        raise NotFound(N_("No donor {id}."), id=donor_id)
    if principal.is_school_staff:
        raise Forbidden(N_("Donor impact is for donors, province officers and admins."))
    return name


def _schools_reached(rows: list[tuple[Any, ...]]) -> list[SchoolReached]:
    return [
        SchoolReached(
            school_id=r[0],
            school_name=r[1],
            commune_code=r[2],
            commune_name=r[3],
            province_code=r[4],
            devices=r[5],
        )
        for r in rows
    ]


async def donor_schools_reached(
    session: AsyncSession,
    principal: Principal,
    donor_id: int,
    *,
    limit: int,
    offset: int,
) -> SchoolsReachedPage:
    """Every school holding the donor's devices, `limit` a page from row `offset`, most
    devices first."""
    await _donor_in_scope(session, principal, donor_id)
    found = await repo.donor_schools(session, principal, donor_id, limit=limit, offset=offset)
    end = offset + len(found.rows)
    return SchoolsReachedPage(
        items=_schools_reached(found.rows),
        total_items=found.schools,
        next_cursor=encode_offset(end) if end < found.schools else None,
    )


async def donor_impact(session: AsyncSession, principal: Principal, donor_id: int) -> DonorImpact:
    name = await _donor_in_scope(session, principal, donor_id)
    on = today()
    figures = await repo.donor_figures(
        session, principal, donor_id, today=on, soon=on + timedelta(days=30)
    )
    reached = await repo.donor_schools(session, principal, donor_id, limit=SCHOOLS_REACHED_SHOWN)
    by_kind_status: dict[str, dict[str, int]] = {}
    received: dict[str, int] = {}
    for kind, status, n in figures.by_kind_status:
        by_kind_status.setdefault(kind, {})[status] = n
        received[kind] = received.get(kind, 0) + n
    flat = [(s, n) for statuses in by_kind_status.values() for s, n in statuses.items()]
    return DonorImpact(
        donor_id=donor_id,
        donor_name=name,
        devices_total=sum(n for _, n in flat),
        by_kind_status=by_kind_status,
        pledged=figures.pledged,
        received=received,
        condition=figures.condition,
        lost_or_stolen=sum(n for s, n in flat if s in LOST_OR_STOLEN),
        retired=sum(n for s, n in flat if s == DeviceStatus.RETIRED),
        schools_reached=_schools_reached(reached.rows),
        schools_reached_total=reached.schools,
        communes_reached=reached.communes,
        provinces_reached=reached.provinces,
        students_reached=figures.students_reached,
        students_with_device_now=figures.students_with_device_now,
        sims_expiring_30_days=figures.sims_expiring,
        sims_expired=figures.sims_expired,
        locked=sum(n for lock, n in figures.activation_lock.items() if lock in LOCKED),
        activation_lock=figures.activation_lock,
    )


# SIMs listed one by one in the expiry report (the per-school counts cover them all).
SIM_LIST_LIMIT = 2000


# The longest window a caller may name in days; `None` (the API's `all`) has no end.
SIM_WINDOW_MAX_DAYS = 3650


async def sim_expiry(
    session: AsyncSession,
    principal: Principal,
    *,
    within_days: int | None,
    province: str | None,
    lapsed: bool = True,
    name_students: bool = True,
    sims_after: str | None = None,
    sims_limit: int = SIM_LIST_LIMIT,
    limit: int | None = None,
    cursor: str | None = None,
    from_top_if_gone: bool = False,
) -> SimExpiryReport:
    """SIMs whose plan ends within `within_days` from today (the lapsed ones included
    unless `lapsed` is False, as the digest asks: they would fill its list), or
    every SIM with an end date when `within_days` is None: a telecom's SIMs may run a year,
    and a province planning top-ups wants to see them all. Three queries whatever the number
    of schools: the schools' counts, the students they name, the SIMs one by one.

    `name_students` False: the groups count their students without naming them (a page
    that shows the counts only reads no child's name). `sims_after`: the asset tag of the
    last SIM a page showed; the list goes on after it in the same order, `sims_limit` at a
    time. When that SIM has left the list since (renewed, retired, moved), the caller is
    told (a program walking the list would otherwise start it again unawares), unless
    `from_top_if_gone` (a page: the reader sees the list from the top). `limit`: schools in
    `items` (None: all of them, as the Excel file lists), after the `cursor` of the page
    before."""
    if principal.is_donor:
        raise Forbidden(N_("Donors see SIM expiry in their impact report."))
    if within_days is not None and not 0 <= within_days <= SIM_WINDOW_MAX_DAYS:
        raise DomainError(
            N_("within_days must be between 0 and {max}, or all."),
            errors=[
                FieldError(
                    field="within_days",
                    message=Message(N_("0–{max} or all"), max=SIM_WINDOW_MAX_DAYS),
                )
            ],
            max=SIM_WINDOW_MAX_DAYS,
        )
    on = today()
    await _ensure_province_in_scope(session, principal, province)
    until = None if within_days is None else on + timedelta(days=within_days)
    where = repo.sims_ending(
        principal, until=until, province=province, since=None if lapsed else on
    )
    found = await repo.sim_groups(
        session, where, on, limit=limit, after=decode_position(cursor, _sim_group_key)
    )
    rows = found.rows
    groups = [
        SimExpiryGroup(
            school_id=r.school_id,
            school_name=r.school_name,
            sims=r.sims,
            expired=r.expired,
            earliest_expiry=r.earliest_expiry,
            students_affected=len(r.student_ids),
        )
        for r in rows
    ]
    # Students are named to admins and to the school's own staff (the officer sees counts).
    groups_of: dict[int, list[SimExpiryGroup]] = {}
    for row, group in zip(rows, groups, strict=True):
        if (
            name_students
            and row.school_id is not None
            and (
                principal.is_admin
                or (principal.is_school_staff and row.school_id in principal.school_ids)
            )
        ):
            group.students = []
            for student_id in row.student_ids:
                groups_of.setdefault(student_id, []).append(group)
    # By student code: each group's list stays in that order.
    for student_id, code, full_name in await repo.students_named(session, groups_of):
        for group in groups_of[student_id]:
            assert group.students is not None  # set above for every group that names
            group.students.append(
                SimStudent(student_id=student_id, student_code=code, full_name=full_name)
            )
    limit = max(1, min(sims_limit, SIM_LIST_LIMIT))
    start = await repo.sim_position(session, where, sims_after) if sims_after else None
    if sims_after and start is None and not from_top_if_gone:
        # 409: the list changed under the caller (a SIM renewed), not a wrong request.
        raise Conflict(
            N_("The SIM {tag} is not in this list any more; start again from the first page."),
            errors=[FieldError(field="sims_after", message=N_("not in this list"))],
            tag=echo(sims_after),
        )
    sims = [
        SimToTopUp(*r)  # the columns are selected in the struct's field order
        for r in await repo.sims_to_top_up(session, where, limit, after=start)
    ]
    return SimExpiryReport(
        within_days=within_days,
        as_of=on,
        total_sims=found.total_sims,
        items=groups,
        next_cursor=None if found.next_key is None else encode_position(*found.next_key),
        sims=sims[:limit],
        sims_truncated=len(sims) > limit,
    )


def _sim_group_key(parts: list[str]) -> repo.SimGroupKey:
    """A SIM group's place in the list, as a cursor carries it (ValueError if it is not)."""
    day, school = parts  # exactly two
    key = (date.fromisoformat(day), int(school))
    if not 0 <= key[1] <= MAX_ID:
        raise ValueError(school)
    return key


async def sims_expiring_total(
    session: AsyncSession, principal: Principal, *, within_days: int, province: str | None
) -> int:
    """How many SIMs `sim_expiry` would list for this window (its `total_sims`), counted
    on the index of SIMs by province and plan end without building the report: the
    dashboard shows the number and links to the list."""
    if principal.is_donor:
        raise Forbidden(N_("Donors see SIM expiry in their impact report."))
    await _ensure_province_in_scope(session, principal, province)
    until = today() + timedelta(days=within_days)
    return await repo.count_devices(
        session, repo.sims_ending(principal, until=until, province=province)
    )


async def _audit_cutoff(
    session: AsyncSession,
    principal: Principal,
    province: str | None,
    days: int,
    school: int | None = None,
) -> datetime:
    """The moment before which an audit is overdue, once the caller may read audits due
    (not donors) of this province and this school (another's answers 404, as it would
    read alone: an empty list said nothing)."""
    _refuse_donors(principal)
    await _ensure_province_in_scope(session, principal, province)
    if school is not None and not await repo.school_in_scope(session, principal, school):
        raise NotFound(N_("No school {id}."), id=school)
    return datetime.now(UTC) - timedelta(days=days)


async def audit_due(
    session: AsyncSession,
    principal: Principal,
    *,
    province: str | None,
    school: int | None,
    days: int,
    limit: int,
    schools_limit: int | None = None,
    schools_offset: int = 0,
) -> AuditDueReport:
    """Schools whose last audit is older than `days` (or that were never audited) among
    those that have received devices, `schools_limit` of them from row `schools_offset`
    (None: all, as the exports and the digests read them), and the received devices nobody
    has seen for longer (`limit`). A school whose devices are all still on their way has
    nothing to audit yet."""
    on = today()
    cutoff = await _audit_cutoff(session, principal, province, days, school)
    schools = [
        AuditDueSchool(school_id=r[0], school_name=r[1], last_audit_at=r[2], devices_held=r[3])
        for r in await repo.schools_due(
            session,
            principal,
            province=province,
            school=school,
            cutoff=cutoff,
            offset=schools_offset,
            limit=schools_limit,
        )
    ]
    if schools_limit is None and schools_offset == 0:
        schools_total = len(schools)
    else:
        schools_total = await repo.count_schools_due(
            session, principal, province=province, school=school, cutoff=cutoff
        )
    end = schools_offset + len(schools)
    devices = [
        AuditDueDevice(
            asset_tag=r[0],
            kind=r[1],
            status=r[2],
            school_id=r[3],
            last_seen_at=r[4],
            received_at=r[5],
        )
        for r in await repo.devices_unseen(
            session, principal, province=province, school=school, cutoff=cutoff, limit=limit
        )
    ]
    return AuditDueReport(
        days=days,
        as_of=on,
        schools=schools,
        schools_total=schools_total,
        schools_next_cursor=encode_offset(end) if end < schools_total else None,
        devices=devices[:limit],
        devices_truncated=len(devices) > limit,
    )


async def schools_due_total(
    session: AsyncSession, principal: Principal, *, province: str | None, days: int
) -> int:
    """How many schools `audit_due` would list (its `schools_total`), counted without
    listing them or their devices: the dashboard shows the number and links to the list."""
    cutoff = await _audit_cutoff(session, principal, province, days)
    return await repo.count_schools_due(
        session, principal, province=province, school=None, cutoff=cutoff
    )

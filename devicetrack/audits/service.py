"""Condition audits (stocktakes): the expected set frozen at start, scans from several
auditors (online or uploaded later), and a close that freezes found / missing /
unexpected and updates each found device in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.audits.models import Audit, AuditScan
from devicetrack.audits.schemas import (
    AuditCreate,
    AuditRead,
    AuditResult,
    ConditionHistory,
    ConditionPoint,
    FoundItem,
    MarkLostResult,
    MissingItem,
    OnLoanItem,
    ScanBatch,
    ScanEntry,
    ScanIn,
    ScanRejected,
    ScanResult,
    StillExpected,
    UnexpectedItem,
)
from devicetrack.audits.values import ScanOutcome
from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import can_see_device, can_see_school
from devicetrack.custody import service as custody
from devicetrack.db.counters import relock
from devicetrack.devices import lifecycle
from devicetrack.devices import repository as devices_repo
from devicetrack.devices.schemas import ActionBody
from devicetrack.devices.tags import WRONG_CHECK, parse_tag
from devicetrack.devices.values import DeviceStatus
from devicetrack.errors import Conflict, Forbidden, NotFound, foreign
from devicetrack.i18n import N_, Message
from devicetrack.schools import service as schools
from devicetrack.schools.models import School
from devicetrack.schools.repository import visible_schools
from devicetrack.students.service import sees_personal_data
from devicetrack.webhooks import service as webhooks

FREEZE_EXPECTED = """
INSERT INTO audit_expected (audit_id, device_id, status_at_start)
SELECT :audit, id, status FROM devices
 WHERE school_id = :school AND installed_in_id IS NULL
   AND status = ANY(:statuses)
"""
# The latest scan of each code decides; every scan stays in audit_scans as the log.
LATEST_SCANS = """
SELECT DISTINCT ON (code) code, device_id, condition, scanned_at
  FROM audit_scans WHERE audit_id = :audit
 ORDER BY code, scanned_at DESC, id DESC
"""
# Per audit of `:audits` (one query for a page of them, not three each).
PROGRESS = """
SELECT x.id AS audit,
       (SELECT count(*) FROM audit_expected WHERE audit_id = x.id)::int AS expected,
       (SELECT count(DISTINCT code) FROM audit_scans WHERE audit_id = x.id)::int AS codes,
       (SELECT count(*) FROM audit_scans WHERE audit_id = x.id)::int AS logged,
       (SELECT count(*) FROM audit_expected e WHERE e.audit_id = x.id AND EXISTS (
            SELECT 1 FROM audit_scans s WHERE s.audit_id = x.id
               AND s.device_id = e.device_id))::int AS found,
       (SELECT count(DISTINCT s.code) FROM audit_scans s WHERE s.audit_id = x.id
           AND (s.device_id IS NULL OR s.device_id NOT IN (
                SELECT device_id FROM audit_expected WHERE audit_id = x.id)))::int
           AS unexpected,
       (SELECT count(*) FROM audit_expected e JOIN devices d ON d.id = e.device_id
         WHERE e.audit_id = x.id AND d.status = :lent AND NOT EXISTS (
            SELECT 1 FROM audit_scans s WHERE s.audit_id = x.id
               AND s.device_id = e.device_id))::int AS on_loan
  FROM unnest(CAST(:audits AS integer[])) AS x(id)
"""
# The expected devices with what an audit's result says of each (the student and due date
# of a lent one: its open loan); `only` narrows them, `limit` cuts the list.
EXPECTED = """
SELECT d.id, d.asset_tag, d.kind, d.status, d.condition, d.student_id, st.student_code,
       a.due_back_on
  FROM audit_expected e JOIN devices d ON d.id = e.device_id
  LEFT JOIN students st ON st.id = d.student_id
  LEFT JOIN assignments a ON a.device_id = d.id AND a.returned_at IS NULL
 WHERE e.audit_id = :audit {only}
 ORDER BY d.asset_tag {limit}
"""
NOT_SEEN = """AND NOT EXISTS (SELECT 1 FROM audit_scans s WHERE s.audit_id = :audit
                                AND s.device_id = d.id)"""


async def _progress(session: AsyncSession, audit_id: int) -> Any:
    """expected, codes, logged, found, unexpected and on_loan (lent, not scanned yet)."""
    return (await _progress_of(session, [audit_id]))[audit_id]


async def _progress_of(session: AsyncSession, audit_ids: list[int]) -> dict[int, Any]:
    """`_progress` of each audit, in one query."""
    params = {"audits": audit_ids, "lent": DeviceStatus.ASSIGNED}
    return {row.audit: row for row in await session.execute(text(PROGRESS), params)}


def _ensure_auditor(principal: Principal, school: School) -> None:
    if principal.is_admin or principal.is_province_officer:
        return
    if principal.is_school_staff and school.id in principal.school_ids:
        return
    raise Forbidden(N_("Audits are run by the school's staff and province officers."))


async def _get(
    session: AsyncSession, principal: Principal, audit_id: int, *, lock: bool = False
) -> tuple[Audit, School]:
    query = select(Audit).where(Audit.id == audit_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    audit = (await session.execute(query)).scalar_one_or_none()
    school = await session.get(School, audit.school_id) if audit else None
    if (
        audit is None
        or school is None
        or principal.is_donor
        or not can_see_school(principal, school)
    ):
        raise NotFound(N_("No audit {id}."), id=audit_id)
    return audit, school


async def _relock(session: AsyncSession, principal: Principal, seen: Audit) -> tuple[Audit, School]:
    """The audit again FOR UPDATE, after its school's counters (db/counters.py)."""
    audit_id = seen.id or 0
    return await relock(
        session,
        seen.school_id,
        lambda: _get(session, principal, audit_id, lock=True),
        lambda found: found[0].school_id,
    )


async def start(session: AsyncSession, principal: Principal, data: AuditCreate) -> AuditRead:
    school = await schools.get_school(session, principal, data.school_id)
    _ensure_auditor(principal, school)
    audit = Audit(
        school_id=school.id or 0,
        location=data.location,
        include_assigned=data.include_assigned,
        started_by=principal.user_id or None,
    )
    session.add(audit)
    await session.flush()
    await session.refresh(audit)
    statuses = ["at_school", "assigned"] if data.include_assigned else ["at_school"]
    await session.execute(
        text(FREEZE_EXPECTED), {"audit": audit.id, "school": school.id, "statuses": statuses}
    )
    return await read(session, principal, audit.id or 0)


async def _resolve(
    session: AsyncSession, principal: Principal, audit: Audit, codes: list[str]
) -> dict[str, tuple[str, int, bool]]:
    """Map what was scanned to (code to record, device id) when it names a device: a tag in
    any form, or an IMEI, ICCID or serial. A serial two makes share names the device this
    audit expects, else one at this school, else any. The code recorded is the device's tag
    when the auditor may read the device, otherwise what was scanned: an IMEI or serial typed
    in never turns into another school's tag."""
    if not codes:
        return {}
    rows = await session.execute(
        text(
            "SELECT c.code, d.asset_tag, d.id, d.province_code, d.school_id, d.donor_id,"
            "       EXISTS (SELECT 1 FROM audit_expected e"
            "                WHERE e.audit_id = :audit AND e.device_id = d.id) AS expected"
            "  FROM unnest(CAST(:codes AS text[])) AS c(code)"
            "  JOIN devices d ON d.asset_tag = c.code OR d.imei = c.code OR d.iccid = c.code"
            "    OR upper(d.serial) = upper(c.code)"
            " ORDER BY c.code, expected, d.school_id = :school NULLS FIRST, d.id DESC"
        ),
        {"codes": codes, "audit": audit.id, "school": audit.school_id},
    )
    known: dict[str, tuple[str, int, bool]] = {}
    for code, tag, device_id, province, school, donor, expected in rows:
        # Rows come worst first for each code, so the best candidate is written last.
        shown = tag if can_see_device(principal, province, school, donor) else code
        known[code] = (shown, device_id, expected)
    return known


async def scan(
    session: AsyncSession, principal: Principal, audit_id: int, batch: ScanBatch
) -> ScanResult:
    audit, school = await _get(session, principal, audit_id)
    _ensure_auditor(principal, school)
    if batch.scans is None:
        raw: list[Any] = [
            {
                k: v
                for k, v in msgspec.structs.asdict(batch).items()
                if k != "scans" and v is not None
            }
        ]
    else:
        raw = list(batch.scans)
    rejected: list[ScanRejected] = []
    good: list[tuple[int, str, ScanIn]] = []
    for index, entry in enumerate(raw):
        try:
            item = msgspec.convert(entry, ScanIn, strict=False)
        except msgspec.ValidationError as exc:
            code = entry.get("code") or entry.get("asset_tag") if isinstance(entry, dict) else None
            rejected.append(ScanRejected(index=index, message=foreign(str(exc)), code=code))
            continue
        code = (item.code or item.asset_tag or "").strip()
        if not code:
            rejected.append(
                ScanRejected(index=index, message=N_("code (or asset_tag) is required"))
            )
            continue
        if (problem := _scan_time_problem(item, audit.started_at)) is not None:
            rejected.append(ScanRejected(index=index, code=code, message=problem))
            continue
        parsed = parse_tag(code)
        if parsed is not None:
            if not parsed.check_ok:
                rejected.append(
                    ScanRejected(
                        index=index,
                        code=code,
                        message=Message(WRONG_CHECK, tag=parsed.expected),
                    )
                )
                continue
            code = parsed.tag
        good.append((index, code, item))
    # Lock after parsing, so a close cannot slip in between check and insert.
    audit, _ = await _get(session, principal, audit_id, lock=True)
    if audit.closed_at is not None:
        raise Conflict(
            N_("The audit is closed; start a new one."),
            extra={"closed_at": audit.closed_at.isoformat()},
        )
    known = await _resolve(session, principal, audit, sorted({c for _, c, _ in good}))
    now = datetime.now(UTC)
    rows = []
    unexpected: set[str] = set()  # codes naming no device this audit expects
    entries = [
        ScanEntry(index=r.index, outcome=ScanOutcome.REJECTED, code=r.code, message=r.message)
        for r in rejected
    ]
    for index, code, item in good:
        tag, device_id, is_expected = known.get(code, (code, None, False))
        if not is_expected:
            unexpected.add(tag)
        outcome = ScanOutcome.FOUND if is_expected else ScanOutcome.UNEXPECTED
        entries.append(ScanEntry(index=index, outcome=outcome, code=tag))
        rows.append(
            {
                "audit_id": audit_id,
                "code": tag,
                "device_id": device_id,
                "condition": item.condition,
                "note": item.note,
                "location": item.location,
                "scanned_at": item.scanned_at or now,
                "scanned_by": principal.user_id or None,
            }
        )
    if rows:
        await session.execute(
            text(
                "INSERT INTO audit_scans (audit_id, code, device_id, condition, note, location,"
                " scanned_at, scanned_by) VALUES (:audit_id, :code, :device_id, :condition,"
                " :note, :location, :scanned_at, :scanned_by)"
            ),
            rows,
        )
    progress = await _progress(session, audit_id)
    return ScanResult(
        accepted=len(rows),
        rejected=rejected,
        found_so_far=progress.found,
        expected=progress.expected,
        unexpected=sorted(unexpected),
        entries=sorted(entries, key=lambda e: e.index),
        on_loan_so_far=progress.on_loan,
        missing_so_far=progress.expected - progress.found - progress.on_loan,
    )


# A device's clock may run a little fast or slow; beyond this a scan time is refused.
CLOCK_SKEW = timedelta(minutes=10)


def _scan_time_problem(item: ScanIn, started_at: datetime | None) -> str | None:
    """A scan collected offline carries its own time, which becomes the device's
    last_seen_at: it must lie between the audit's start and now."""
    if item.scanned_at is None:
        return None
    if item.scanned_at.tzinfo is None:
        item.scanned_at = item.scanned_at.replace(tzinfo=UTC)  # a time without zone is UTC
    if item.scanned_at > datetime.now(UTC) + CLOCK_SKEW:
        return N_("scanned_at is in the future")
    if started_at is not None and item.scanned_at < started_at - CLOCK_SKEW:
        return N_("scanned_at is before the audit started")
    return None


async def _compute(session: AsyncSession, audit: Audit) -> tuple[AuditResult, list[dict[str, Any]]]:
    params = {"audit": audit.id}
    latest = {r.code: r for r in await session.execute(text(LATEST_SCANS), params)}
    expected = list(await session.execute(text(EXPECTED.format(only="", limit="")), params))
    expected_ids = {r.id for r in expected}
    scanned_by_device = {r.device_id: r for r in latest.values() if r.device_id is not None}
    found, updates = [], []
    missing, on_loan = _not_seen([r for r in expected if r.id not in scanned_by_device])
    for r in expected:
        s = scanned_by_device.get(r.id)
        if s is None:
            continue
        condition = s.condition or r.condition
        found.append(
            FoundItem(
                asset_tag=r.asset_tag, kind=r.kind, condition=condition, scanned_at=s.scanned_at
            )
        )
        updates.append({"id": r.id, "condition": condition, "seen": s.scanned_at})
    others = [r for r in latest.values() if r.device_id not in expected_ids]
    devices = {}
    if any(r.device_id for r in others):
        devices = {
            d.id: d
            for d in await session.execute(
                text(
                    "SELECT d.id, d.asset_tag, d.kind, d.status, d.school_id, d.province_code,"
                    " s.name AS school_name"
                    " FROM devices d LEFT JOIN schools s ON s.id = d.school_id"
                    " WHERE d.id = ANY(:ids)"
                ),
                {"ids": [r.device_id for r in others if r.device_id]},
            )
        }
    unexpected = []
    for r in sorted(others, key=lambda r: r.code):
        d = devices.get(r.device_id)
        if d is None:
            unexpected.append(UnexpectedItem(code=r.code, reason=N_("unknown code")))
            continue
        item = UnexpectedItem(
            code=r.code,
            asset_tag=d.asset_tag,
            kind=d.kind,
            status=d.status,
            held_by_school_id=d.school_id,
            held_by_school_name=d.school_name,
            held_by_province=d.province_code,
            reason="",
        )
        if d.status in ("lost", "stolen"):
            item.reason = N_("reported lost") if d.status == "lost" else N_("reported stolen")
            item.suggested_action = "found"
        elif d.status == "retired":
            item.reason = N_("retired")
        elif d.school_id != audit.school_id:
            item.reason = N_("held by another school") if d.school_id else N_("in province stock")
        else:
            # Its status is the item's own `status`: the reason stays one message (a result
            # is stored, and shown in the reader's language later).
            item.reason = N_("not expected here")
        unexpected.append(item)
    result = AuditResult(found=found, missing=missing, unexpected=unexpected, on_loan=on_loan)
    return result, updates


def _not_seen(rows: list[Any]) -> tuple[list[MissingItem], list[OnLoanItem]]:
    """Expected devices nobody scanned: missing, unless a student has them at home (lent
    now); those are their own group, to confirm with the student or skip."""
    missing, on_loan = [], []
    for r in rows:
        if r.status == DeviceStatus.ASSIGNED:
            on_loan.append(
                OnLoanItem(
                    asset_tag=r.asset_tag,
                    kind=r.kind,
                    due_back_on=r.due_back_on,
                    student_id=r.student_id,
                    student_code=r.student_code,
                )
            )
        else:
            missing.append(
                MissingItem(
                    asset_tag=r.asset_tag, kind=r.kind, status=r.status, student_code=r.student_code
                )
            )
    return missing, on_loan


def _refuse_empty(result: AuditResult) -> None:
    if (result.missing or result.on_loan) and not result.found and not result.unexpected:
        # Closing counts as the school's audit (reports, audit-due): an audit in which
        # nothing was scanned would record every device as missing, most likely by mistake.
        raise Conflict(
            N_("Nothing has been scanned in this audit yet; scan the devices before closing it."),
            extra={"expected": len(result.missing) + len(result.on_loan)},
        )


async def preview_close(session: AsyncSession, principal: Principal, audit_id: int) -> AuditResult:
    """What closing the audit now would record (found, missing, on loan, unexpected), for
    the auditor to confirm; nothing is written. Refused as `close` would refuse it."""
    audit, school = await _get(session, principal, audit_id)
    _ensure_auditor(principal, school)
    if audit.closed_at is not None:
        raise Conflict(N_("The audit is already closed."))
    result, _ = await _compute(session, audit)
    _refuse_empty(result)
    return _as_seen_by_reader(principal, audit.school_id, result)


async def still_expected(
    session: AsyncSession, principal: Principal, audit_id: int, *, shown: int = 200
) -> StillExpected:
    """The expected devices of an open audit not scanned yet, for the auditor to look for:
    the first `shown` of each group (a school may hold thousands), with the totals."""
    audit, _ = await _get(session, principal, audit_id)
    progress = await _progress(session, audit_id)
    params = {"audit": audit.id, "lent": DeviceStatus.ASSIGNED, "shown": shown}
    rows: list[Any] = []
    for group in ("AND d.status <> :lent", "AND d.status = :lent"):
        query = EXPECTED.format(only=f"{NOT_SEEN} {group}", limit="LIMIT :shown")
        rows += list(await session.execute(text(query), params))
    missing, on_loan = _not_seen(rows)
    seen = _as_seen_by_reader(
        principal,
        audit.school_id,
        AuditResult(found=[], missing=missing, unexpected=[], on_loan=on_loan),
    )
    return StillExpected(
        to_find=seen.missing,
        to_find_total=progress.expected - progress.found - progress.on_loan,
        on_loan=seen.on_loan,
        on_loan_total=progress.on_loan,
    )


async def close(session: AsyncSession, principal: Principal, audit_id: int) -> AuditRead:
    audit, school = await _get(session, principal, audit_id)
    _ensure_auditor(principal, school)
    audit, school = await _relock(session, principal, audit)
    if audit.closed_at is not None:
        raise Conflict(N_("The audit is already closed."))
    result, updates = await _compute(session, audit)
    _refuse_empty(result)
    if updates:
        # One statement updates every found device; the coverage triggers see it once.
        await session.execute(
            text("""
            UPDATE devices d SET condition = u.condition,
               last_seen_at = GREATEST(d.last_seen_at, u.seen),
                   updated_at = now()
              FROM unnest(CAST(:ids AS bigint[]), CAST(:conditions AS text[]),
                          CAST(:seen AS timestamptz[])) AS u(id, condition, seen)
             WHERE d.id = u.id"""),
            {
                "ids": [u["id"] for u in updates],
                "conditions": [u["condition"] for u in updates],
                "seen": [u["seen"] for u in updates],
            },
        )
        await session.execute(
            text("""
            INSERT INTO device_events (device_id, actor_id, action, from_status, to_status,
                                       school_id, condition, data)
            SELECT d.id, :actor, 'audited', d.status, d.status, d.school_id, d.condition,
                   jsonb_build_object('audit_id', CAST(:audit AS int))
              FROM devices d WHERE d.id = ANY(CAST(:ids AS bigint[]))"""),
            {
                "actor": principal.user_id or None,
                "audit": audit_id,
                "ids": [u["id"] for u in updates],
            },
        )
    audit.closed_at = datetime.now(UTC)
    audit.closed_by = principal.user_id or None
    audit.result = msgspec.to_builtins(result)
    await session.flush()
    await webhooks.audit_closed(
        session,
        audit_id=audit_id,
        school={"id": school.id, "code": school.code, "name": school.name},
        province_code=school.province_code,
        counts={
            "found": len(result.found),
            "missing": len(result.missing),
            "unexpected": len(result.unexpected),
            "on_loan": len(result.on_loan),
        },
    )
    return await read(session, principal, audit_id)


async def read(session: AsyncSession, principal: Principal, audit_id: int) -> AuditRead:
    audit, _ = await _get(session, principal, audit_id)
    return _as_read(principal, audit, await _progress(session, audit_id))


def _as_read(principal: Principal, audit: Audit, progress: Any) -> AuditRead:
    """An audit with its progress (`_progress`), as the reader may see it."""
    _, expected, codes, logged, found, unexpected, on_loan = progress
    result = msgspec.convert(audit.result, AuditResult) if audit.result else None
    if result is not None:
        found, unexpected = len(result.found), len(result.unexpected)
        on_loan = len(result.on_loan)
        result = _as_seen_by_reader(principal, audit.school_id, result)
    assert audit.id is not None and audit.started_at is not None
    return AuditRead(
        id=audit.id,
        school_id=audit.school_id,
        location=audit.location,
        include_assigned=audit.include_assigned,
        started_at=audit.started_at,
        started_by=audit.started_by,
        closed_at=audit.closed_at,
        expected=expected,
        scanned_codes=codes,
        scans_logged=logged,
        found=found,
        missing=len(result.missing) if result else expected - found - on_loan,
        unexpected=unexpected,
        on_loan=on_loan,
        result=result,
    )


def _as_seen_by_reader(principal: Principal, school_id: int, result: AuditResult) -> AuditResult:
    """A result as the reader may see it: unexpected scans redacted (below), and who holds a
    lent device only for those who may see who the school's students are (its staff and
    admins): a province officer reads the tag, the kind and the due date, never the student."""
    result.unexpected = [_as_seen_by(principal, item) for item in result.unexpected]
    if not sees_personal_data(principal, school_id):
        result.on_loan = [
            OnLoanItem(asset_tag=i.asset_tag, kind=i.kind, due_back_on=i.due_back_on)
            for i in result.on_loan
        ]
        for item in result.missing:
            item.student_code = None
    return result


def _as_seen_by(principal: Principal, item: UnexpectedItem) -> UnexpectedItem:
    """An unexpected scan as the reader may see it. About a device the reader could not read
    anyway, only what was scanned and "held elsewhere": no school, status, kind or reason
    that tells lost from retired, and no tag behind a scanned IMEI or serial (see _resolve).
    Results stored before held_by_province existed are redacted for officers too."""
    if item.asset_tag is None or principal.is_admin:
        return item
    if principal.is_province_officer and item.held_by_province == principal.province_code:
        return item
    if principal.is_school_staff and item.held_by_school_id in principal.school_ids:
        return item
    # SPEC §2's own words for it: scanned here, held elsewhere.
    return UnexpectedItem(code=item.code, reason=N_("held elsewhere"))


async def list_audits(
    session: AsyncSession,
    principal: Principal,
    *,
    school_id: int | None,
    open_: bool | None,
    after_id: int | None,
    limit: int,
) -> list[AuditRead]:
    if principal.is_donor:
        raise Forbidden(N_("Donors do not run audits."))
    query = (
        select(Audit)
        .where(Audit.school_id.in_(select(School.id).where(visible_schools(principal))))
        .order_by(Audit.id)
        .limit(limit + 1)
    )
    if school_id is not None:
        query = query.where(Audit.school_id == school_id)
    if open_ is not None:
        query = query.where(Audit.closed_at.is_(None) if open_ else Audit.closed_at.is_not(None))
    if after_id is not None:
        query = query.where(Audit.id > after_id)
    audits = list((await session.execute(query)).scalars())
    # The query kept the audits of schools the caller may see (as `_get` checks one).
    progress = await _progress_of(session, [a.id for a in audits if a.id is not None])
    return [_as_read(principal, a, progress[a.id]) for a in audits if a.id is not None]


async def _scanned_since(session: AsyncSession, school_id: int, moment: datetime) -> set[int]:
    """The devices scanned in the school's audits (open ones included: their sightings
    count when they close) after `moment`: one read of those audits' scans, by the scans'
    index on the audit."""
    later = select(Audit.id).where(Audit.school_id == school_id).scalar_subquery()
    found = await session.scalars(
        select(AuditScan.device_id)
        .distinct()
        .where(
            AuditScan.audit_id.in_(later),
            AuditScan.scanned_at > moment,
            AuditScan.device_id.is_not(None),
        )
    )
    return {int(i) for i in found if i is not None}


async def mark_missing_lost(
    session: AsyncSession, principal: Principal, audit_id: int
) -> MarkLostResult:
    audit, _ = await _get(session, principal, audit_id)
    if not (principal.is_admin or principal.is_province_officer):
        raise Forbidden(N_("Only province officers turn missing devices into lost ones."))
    audit, _ = await _relock(session, principal, audit)
    if audit.closed_at is None or not audit.result:
        raise Conflict(N_("Close the audit first."))
    result = msgspec.convert(audit.result, AuditResult)
    marked, skipped = [], []
    body = ActionBody(note=f"missing in audit {audit_id}")
    assert audit.closed_at is not None  # checked above
    scanned = await _scanned_since(session, audit.school_id, audit.closed_at)
    for item in result.missing:
        device = await devices_repo.get_by_tag(session, item.asset_tag, for_update=True)
        # Only the audit's school's counters are locked: a device that has left the school
        # since the audit is not missing from it any more, nor one seen since (a scan in a
        # later audit, open or closed, or any other sighting).
        if (
            device is None
            or device.school_id != audit.school_id
            or device.status not in lifecycle.TRANSITIONS["report-lost"].sources
            or device.id in scanned
            or (device.last_seen_at is not None and device.last_seen_at > audit.closed_at)
        ):
            skipped.append(item.asset_tag)
            continue
        await custody.apply(
            session, principal, device, "report-lost", body, extra={"audit_id": audit_id}
        )
        marked.append(item.asset_tag)
    return MarkLostResult(marked_lost=marked, skipped=skipped)


async def condition_history(
    session: AsyncSession, principal: Principal, school_id: int
) -> ConditionHistory:
    await schools.get_school(session, principal, school_id)
    if principal.is_donor:
        raise Forbidden(N_("Donors do not read school condition history."))
    current = {
        c: n
        for c, n in await session.execute(
            text(
                "SELECT condition, count(*)::int FROM devices"
                " WHERE school_id = :s AND kind <> 'sim'"
                " AND status IN ('allocated','at_school','assigned','in_repair')"
                " GROUP BY condition"
            ),
            {"s": school_id},
        )
    }
    points = []
    for audit_id, closed_at, result in await session.execute(
        text(
            "SELECT id, closed_at, result FROM audits"
            " WHERE school_id = :s AND closed_at IS NOT NULL ORDER BY closed_at"
        ),
        {"s": school_id},
    ):
        counts: dict[str, int] = {}
        for item in (result or {}).get("found", []):
            counts[item["condition"]] = counts.get(item["condition"], 0) + 1
        points.append(ConditionPoint(audit_id=audit_id, at=closed_at, conditions=counts))
    return ConditionHistory(school_id=school_id, current=current, audits=points)

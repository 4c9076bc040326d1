"""Working offline (app.js's outbox, sw.js): the page the service worker shows for a page
this phone has not kept, and a school's devices and students for the lend and return forms
it draws there. Both are cached by the service worker and deleted on sign-out.

The snapshot is conditional (ETag, If-None-Match): app.js asks for it again every half hour
while a page is open, and a school's unchanged list would otherwise write thousands of
reads to the access log each time although nothing new was disclosed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.devices import service as devices
from devicetrack.devices.values import Condition
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments
from devicetrack.students import service as students
from devicetrack.students.values import StudentStatus
from devicetrack.web.render import page

# A school's devices, students and loans kept on the phone, each list at most this long
# (the biggest schools of a province have ~2,000 students); `complete` says if all fit.
SNAPSHOT_ROWS = 5000

# The browser may keep the snapshot but must ask before each use (the ETag); the default
# (middleware.no_store) would forbid the conditional fetch its cache makes by itself.
# Sign-out's Clear-Site-Data "cache" deletes it with the rest.
SNAPSHOT_CACHE = "private, no-cache"


class OfflineDevice(msgspec.Struct):
    asset_tag: str
    kind: str
    status: str
    condition: str
    make: str | None
    model: str | None
    # The student who has it (the school's loans), else None.
    student_id: int | None


class OfflineStudent(msgspec.Struct):
    id: int
    student_code: str
    grade: int
    class_name: str | None
    has_consent: bool
    has_device: bool
    full_name: str | None


class OfflineSnapshot(msgspec.Struct):
    school_id: int
    taken_at: datetime
    complete: bool
    devices: list[OfflineDevice]
    students: list[OfflineStudent]


class OfflinePages(Controller):
    include_in_schema = False

    @get("/offline")
    async def offline(self, request: Request[Any, Any, Any], principal: Principal) -> Response[Any]:
        """No personal data: its script fills the lend or return form of the address the
        service worker could not fetch from what this phone keeps (the snapshot, the outbox)."""
        return page(request, "offline.html", principal, conditions=Condition)

    @get("/schools/{school_id:int}/offline.json")
    async def snapshot(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        school_id: int,
    ) -> Response[Any]:
        """The school's devices (with who holds each) and active students, to lend and take
        back offline. Each student listed is a read, logged as the lend page's are; asked
        again with the ETag of what the caller already holds, an unchanged snapshot answers
        304 without a body and logs nothing (nothing is disclosed). The scope is checked and
        the lists read first: the ETag is a digest of exactly what this caller would get."""
        await schools.get_school(tx, principal, school_id)  # 404 outside the caller's scope
        where = devices.device_filters(principal, school=school_id)
        kept = await devices.list_devices(tx, principal, where, after_id=None, limit=SNAPSHOT_ROWS)
        pupils = await students.list_students(
            tx, principal, school_id=school_id, status=StudentStatus.ACTIVE, limit=SNAPSHOT_ROWS
        )
        loans = await assignments.school_loans(
            tx, principal, school_id, overdue_only=False, after_id=None, limit=SNAPSHOT_ROWS
        )
        holders = {loan.asset_tag: loan.student_id for loan in loans}
        snapshot = OfflineSnapshot(
            school_id=school_id,
            taken_at=datetime.now(UTC),
            complete=max(len(kept), len(pupils), len(loans)) < SNAPSHOT_ROWS,
            devices=[
                OfflineDevice(
                    asset_tag=d.asset_tag,
                    kind=d.kind,
                    status=d.status,
                    condition=d.condition,
                    make=d.make,
                    model=d.model,
                    student_id=holders.get(d.asset_tag),
                )
                for d in kept
            ],
            students=[
                OfflineStudent(
                    id=s.id,
                    student_code=s.student_code,
                    grade=s.grade,
                    class_name=s.class_name,
                    has_consent=s.has_consent,
                    has_device=s.has_device,
                    full_name=s.full_name,
                )
                for s in pupils
            ],
        )
        etag = _etag_of(principal, snapshot)
        headers = {"ETag": etag, "Cache-Control": SNAPSHOT_CACHE}
        if _matches(request.headers.get("if-none-match"), etag):
            return Response(b"", status_code=304, headers=headers)
        await privacy.record_reads(tx, principal, privacy.route_of(request), pupils)
        return Response(snapshot, headers=headers)


def _etag_of(principal: Principal, snapshot: OfflineSnapshot) -> str:
    """A strong ETag: a digest of the snapshot as sent, but for when it was taken, and of
    who it was sent to (so a 304 means this user was sent, and logged reading, this very
    content). For a school of 2,000 students and as many devices, reading the lists takes
    ~350 ms and encoding and hashing them (~530 KB) 2-10 ms, so the digest adds little.
    A cheaper validator (the latest `updated_at` and counts) would miss changes the snapshot
    shows: a consent given is another table's row, and `has_device` is kept by triggers
    that leave `updated_at` alone."""
    content = msgspec.json.encode(
        (
            principal.user_id,
            snapshot.school_id,
            snapshot.complete,
            snapshot.devices,
            snapshot.students,
        )
    )
    return '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): one of its tags, W/ or not, or
    "*" (the snapshot always exists)."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags

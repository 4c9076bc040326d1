"""Arranging the device lifecycle through the API: a province with schools and callers of
every role, devices from a donation, and shortcuts that drive devices to a status."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from litestar.testing import AsyncTestClient

from tests.factories import DIEN_BIEN, LAI_CHAU, Caller, Factory

API = "/api/v1"
_codes = itertools.count(1)


@dataclass
class Scene:
    """Two schools in Điện Biên (A and B), one in Lai Châu (C), and a caller of each role:
    the province officer of each province, staff of each school, the devices' donor and an
    admin."""

    client: AsyncTestClient
    db: asyncpg.Pool
    admin: Caller
    officer: Caller
    officer_other: Caller
    staff_a: Caller
    staff_b: Caller
    staff_c: Caller
    donor: Caller
    donor_id: int
    donation_id: int
    school_a: int
    school_b: int
    school_c: int

    # ---- devices -------------------------------------------------------------------

    async def intake(self, *rows: dict[str, Any], donation_id: int | None = None) -> list[str]:
        response = await self.client.post(
            f"{API}/donations/{donation_id or self.donation_id}/devices",
            headers=self.officer.headers,
            json=list(rows),
        )
        assert response.status_code == 201, response.text
        tags: list[str] = response.json()["asset_tags"]
        assert len(tags) == len(rows)
        return tags

    async def tablets(self, n: int, prefix: str = "T") -> list[str]:
        batch = next(_codes)
        return await self.intake(
            *({"kind": "tablet", "serial": f"{prefix}{batch}-{i}"} for i in range(n))
        )

    async def act(
        self, caller: Caller, tag: str, action: str, expect: int | None = 200, **body: Any
    ) -> Any:
        response = await self.client.post(
            f"{API}/devices/{tag}/actions/{action}", headers=caller.headers, json=body
        )
        if expect is not None:
            assert response.status_code == expect, (tag, action, response.text)
        return response

    async def allocate(self, tags: list[str], school: int | None = None) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/allocations",
            headers=self.officer.headers,
            json={"school_id": school or self.school_a, "asset_tags": tags},
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def receive(self, tags: list[str], school: int | None = None) -> None:
        school = school or self.school_a
        staff = {self.school_a: self.staff_a, self.school_b: self.staff_b}[school]
        response = await self.client.post(
            f"{API}/schools/{school}/receipts", headers=staff.headers, json={"asset_tags": tags}
        )
        assert response.status_code == 200, response.text
        assert sorted(response.json()["received"]) == sorted(tags), response.text

    async def at_school(self, tags: list[str], school: int | None = None) -> None:
        await self.allocate(tags, school)
        await self.receive(tags, school)

    # ---- students and loans --------------------------------------------------------

    async def student(
        self, school: int | None = None, caller: Caller | None = None, **values: Any
    ) -> dict[str, Any]:
        school = school or self.school_a
        n = next(_codes)
        body = {
            "school_id": school,
            "student_code": f"HS-{n:05d}",
            "full_name": f"Học sinh {n}",
            "grade": 5,
        } | values
        staff = caller or {self.school_a: self.staff_a, self.school_b: self.staff_b}.get(
            school, self.admin
        )
        response = await self.client.post(f"{API}/students", headers=staff.headers, json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def consent(self, student_id: int, **values: Any) -> dict[str, Any]:
        body = {"given_by": "Phụ huynh", "method": "paper", "given_at": "2025-09-05"} | values
        response = await self.client.post(
            f"{API}/students/{student_id}/consents", headers=self.admin.headers, json=body
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def consenting_student(self, school: int | None = None, **values: Any) -> int:
        student = await self.student(school, **values)
        await self.consent(student["id"])
        return int(student["id"])

    async def lend(
        self, tag: str, student_id: int, caller: Caller | None = None, **values: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/assignments",
            headers=(caller or self.staff_a).headers,
            json={"asset_tag": tag, "student_id": student_id} | values,
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    # ---- reading the database ------------------------------------------------------

    async def device(self, tag: str) -> asyncpg.Record:
        row = await self.db.fetchrow("SELECT * FROM devices WHERE asset_tag = $1", tag)
        assert row is not None, tag
        return row

    async def events(self, tag: str) -> list[dict[str, Any]]:
        """The device's history rows, oldest first, with `data` decoded."""
        rows = await self.db.fetch(
            """SELECT e.* FROM device_events e JOIN devices d ON d.id = e.device_id
                WHERE d.asset_tag = $1 ORDER BY e.id""",
            tag,
        )
        return [
            dict(r) | {"data": json.loads(r["data"]) if r["data"] is not None else None}
            for r in rows
        ]


async def make_scene(client: AsyncTestClient, db: asyncpg.Pool, factory: Factory) -> Scene:
    school_a = await factory.school(DIEN_BIEN)
    school_b = await factory.school(DIEN_BIEN)
    school_c = await factory.school(LAI_CHAU)
    donor_id = await factory.donor()
    officer = await factory.officer(DIEN_BIEN)
    response = await client.post(
        f"{API}/donations",
        headers=officer.headers,
        json={"donor_id": donor_id, "province_code": DIEN_BIEN, "reference": "LC-1"},
    )
    assert response.status_code == 201, response.text
    return Scene(
        client=client,
        db=db,
        admin=await factory.admin(),
        officer=officer,
        officer_other=await factory.officer(LAI_CHAU),
        staff_a=await factory.staff(school_a),
        staff_b=await factory.staff(school_b),
        staff_c=await factory.staff(school_c),
        donor=await factory.donor_user(donor_id),
        donor_id=donor_id,
        donation_id=response.json()["id"],
        school_a=school_a,
        school_b=school_b,
        school_c=school_c,
    )


class _SyncTransport(httpx.BaseTransport):
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self.inner.handle_request(request)
        return response


@dataclass
class Timed:
    response: httpx.Response
    started: float
    finished: float


async def concurrently(
    client: AsyncTestClient, requests: list[tuple[str, str, Caller, Any]]
) -> list[Timed]:
    """Send (method, url, caller, json) requests at once and wait for all of them.

    The test client runs the app on its own event loop in another thread and each request
    blocks its caller until the response is complete, so one thread per request (released
    together by a barrier) makes the app serve them at the same time."""
    transport = _SyncTransport(client._transport)  # into the app the client runs
    barrier = threading.Barrier(len(requests))

    def send(request: tuple[str, str, Caller, Any]) -> Timed:
        method, url, caller, body = request
        with httpx.Client(transport=transport, base_url=str(client.base_url)) as http:
            barrier.wait()
            started = time.monotonic()
            response = http.request(method, url, headers=caller.headers, json=body)
            return Timed(response, started, time.monotonic())

    def run_all() -> list[Timed]:
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(send, requests))

    return await asyncio.to_thread(run_all)


def in_background(
    client: AsyncTestClient, method: str, url: str, caller: Caller, body: Any
) -> asyncio.Future[httpx.Response]:
    """Send one request from its own thread; await the result later."""
    transport = _SyncTransport(client._transport)

    def send() -> httpx.Response:
        with httpx.Client(transport=transport, base_url=str(client.base_url)) as http:
            return http.request(method, url, headers=caller.headers, json=body)

    return asyncio.get_running_loop().run_in_executor(None, send)


async def lock_waiters(db: asyncpg.Pool, wait_event: str | None = None) -> list[int]:
    """Backends of the app (not this test's own connections) waiting on a lock."""
    rows = await db.fetch(
        """SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'devicetrack'
              AND wait_event_type = 'Lock' AND ($1::text IS NULL OR wait_event = $1)""",
        wait_event,
    )
    return [r["pid"] for r in rows]


def overlapped(results: list[Timed]) -> bool:
    """Were the requests in flight at the same time (all started before any finished)?"""
    return max(r.started for r in results) < min(r.finished for r in results)


def max_in_flight(results: list[Timed]) -> int:
    """The most requests that were in flight at one moment."""
    edges = sorted(
        [(r.started, 1) for r in results] + [(r.finished, -1) for r in results],
        key=lambda edge: (edge[0], edge[1]),
    )
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most

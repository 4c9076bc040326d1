r"""Synthetic national data for benchmarks: all 34 provinces and their 3,321 real communes.

    DATABASE_URL=postgresql://… uv run python scripts/seed_scale.py --national
    DATABASE_URL=postgresql://… uv run python scripts/seed_scale.py --national --scale 0.01
    DATABASE_URL=postgresql://… uv run python scripts/seed_scale.py --devices 1000000 \
        --schools 20000

`--national` is the Ministry's size: 45,000 schools with enrolments, 5,000,000 devices in a
realistic mix of kinds and states (1,000,000 of them SIMs, half installed in a tablet or
smartphone and travelling with it), 2,000,000 students with 1,500,000 open loans, closed
audits at most schools, and each device's history (registered, allocated, received, lent,
sent to repair, lost, retired, seen at an audit, SIM installed). `--scale` shrinks every
figure (0.01: 450 schools, 50,000 devices). The communes come from the `communes` table that
migration 0001 fills from `vietnam-provinces`.

Everything is loaded with COPY (asyncpg's copy_records_to_table), in chunks, so memory stays
flat. The coverage counters (school_counts, school_seen, school_connected, stock_counts)
and the students' has_device / connected_until are kept by the database's own triggers
while loading, exactly as for any other write: nothing is computed here that the triggers
keep. Only the device history skips the per-row foreign-key check (session_replication_role
= replica for that COPY alone: its device ids are the ones just loaded); a check at the end
proves every event's device exists. Prints the time of each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devicetrack.db import migrate
from devicetrack.devices.tags import format_tags
from devicetrack.reports.coverage_sql import FROM_SCRATCH
from devicetrack.reports.service import current_school_year
from tests.database import asyncpg_dsn

# Non-SIM kinds (SIMs are a fixed share of the plan) and who lends which.
KINDS = [("tablet", 30), ("laptop", 22), ("desktop", 8), ("smartphone", 15), ("router", 3)]
KINDS += [("other", 2)]
LENDABLE = {"tablet", "laptop", "smartphone"}
HOSTS = {"tablet", "smartphone"}
# The states of a device that is not lent (a lent one is "assigned").
STATUSES = [
    ("in_stock", 14),
    ("allocated", 5),
    ("at_school", 33),
    ("in_repair", 3),
    ("lost", 2),
    ("stolen", 1),
    ("retired", 6),
]
CONDITIONS = [("new", 20), ("good", 45), ("fair", 22), ("poor", 8), ("broken", 5)]
MAKES = {
    "tablet": [("Samsung", "Galaxy Tab A9"), ("Lenovo", "Tab M10"), ("Apple", "iPad 9")],
    "laptop": [("Dell", "Latitude 3440"), ("Lenovo", "ThinkPad E14"), ("HP", "ProBook 440")],
    "desktop": [("Dell", "OptiPlex 3000"), ("HP", "ProDesk 400")],
    "smartphone": [("Samsung", "Galaxy A15"), ("Xiaomi", "Redmi 13C"), ("Oppo", "A18")],
    "router": [("TP-Link", "Archer C6")],
    "other": [("Logitech", "Webcam C270")],
    "sim": [(None, None)],
}
SERIAL_PREFIX = {"tablet": "TB", "laptop": "LP", "desktop": "DK", "smartphone": "SP"}
SERIAL_PREFIX |= {"router": "RT", "other": "OT"}
FAMILY = ["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 2 + ["Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ"]
FAMILY += ["Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Sùng", "Giàng", "Lò", "Hà"]
FAMILY += ["Triệu", "Lương", "Đinh", "Mai", "Quàng", "Thào", "Vàng", "Lầu"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Ngọc", "Thanh", "Hữu", "Quang", "Thu", "Hoài"]
MIDDLE += ["Gia", "Bảo", "Khánh", "Xuân", "A", "Thị Thu", "Văn Đức", "Hồng", "Phương"]
GIVEN = "An Bình Châu Dũng Giang Hà Hải Hạnh Hiếu Hoa Huy Hương Khánh Khoa Lan Linh Long Mai"
GIVEN += " Minh My Nam Ngân Nhung Phong Phúc Quân Quỳnh Sơn Tâm Thảo Trang Trung Tú Tuấn Vy"
GIVEN += " Yến Ánh Đạt Đông Páo Sính Chứ Dế Mỷ Nhi Hằng Thùy Oanh Kiên Lộc Tín Vinh Việt Ý"
GIVENS = GIVEN.split()
LEVELS = [["primary"], ["lower_secondary"], ["primary", "lower_secondary"], ["upper_secondary"]]
SCHOOL_KIND = {
    "primary": "Trường Tiểu học",
    "lower_secondary": "Trường THCS",
    "upper_secondary": "Trường THPT",
}
CARRIERS = ["viettel", "vinaphone", "mobifone"]
CHUNK = 100_000
DEVICE_COLUMNS = [
    "id",
    "asset_tag",
    "province_code",
    "kind",
    "make",
    "model",
    "serial",
    "imei",
    "status",
    "condition",
    "donation_id",
    "donor_id",
    "school_id",
    "student_id",
    "received_at",
    "last_seen_at",
    "iccid",
    "msisdn",
    "carrier",
    "plan_name",
    "plan_quota_gb",
    "plan_expires_on",
    "installed_in_id",
]
STUDENT_COLUMNS = [
    "id",
    "school_id",
    "student_code",
    "full_name",
    "birth_year",
    "guardian_name",
    "guardian_phone",
    "grade",
    "class_name",
    "priority",
]
EVENT_COLUMNS = [
    "id",
    "device_id",
    "at",
    "action",
    "from_status",
    "to_status",
    "school_id",
    "student_id",
    "condition",
    "data",
]
LOAN_COLUMNS = ["device_id", "student_id", "school_id", "assigned_at", "condition_out"]
# The status event that put a device in its present state, after it reached the school.
STATUS_EVENT = {
    "in_repair": "sent-to-repair",
    "lost": "reported-lost",
    "stolen": "reported-stolen",
    "retired": "retired",
}


# The tables the database's triggers keep as devices, loans and audits are written.
COUNTER_TABLES = (
    "school_counts",
    "school_seen",
    "school_connected",
    "stock_counts",
    "donor_students",
    "donation_counts",
)


@dataclass(frozen=True)
class Plan:
    """How much to make; every other figure follows from these."""

    schools: int
    devices: int
    students: int
    loans: int
    sims: int

    @classmethod
    def national(cls, scale: float) -> Plan:
        def n(x: int) -> int:
            return max(1, round(x * scale))

        return cls(n(45_000), n(5_000_000), n(2_000_000), n(1_500_000), n(1_000_000))

    @classmethod
    def sized(cls, devices: int, schools: int) -> Plan:
        return cls(schools, devices, devices * 2 // 5, devices * 3 // 10, devices // 5)


class Timer:
    """Wall time of each phase, printed at the end."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float]] = []
        self.started = time.perf_counter()
        self.last = self.started

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.phases.append((name, now - self.last))
        self.last = now

    def report(self) -> str:
        rows = [f"  {name:<38} {seconds:8.1f} s" for name, seconds in self.phases]
        rows.append(f"  {'total':<38} {time.perf_counter() - self.started:8.1f} s")
        return "\n".join(rows)


def weighted(rng: random.Random, table: list[tuple[str, int]], n: int) -> list[str]:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table], k=n)


def student_name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVENS)}"


def phone(rng: random.Random) -> str:
    return f"09{rng.randrange(100_000_000):08d}"


class Seeder:
    def __init__(self, conn: asyncpg.Connection, plan: Plan, seed: int, progress: Progress):
        self.conn = conn
        self.plan = plan
        self.rng = random.Random(seed)
        self.progress = progress
        self.now = datetime.now(UTC)
        self.today = self.now.date()
        self.next_event = 1
        self.next_student = 1

    async def copy(self, table: str, rows: list[Any], columns: list[str]) -> None:
        if rows:
            await self.conn.copy_records_to_table(table, records=rows, columns=columns)

    async def schools(self) -> None:
        rng, plan = self.rng, self.plan
        communes = await self.conn.fetch("SELECT code, name, province_code FROM communes")
        task = self.progress.add_task("schools", total=plan.schools)
        rows, self.by_province = [], {}
        for i in range(plan.schools):
            # Every commune has a school before any has a second one.
            c = communes[i] if i < len(communes) else communes[rng.randrange(len(communes))]
            levels = rng.choice(LEVELS)
            name = f"{SCHOOL_KIND[levels[-1]]} {c['name']} số {i // len(communes) + 1}"
            rows.append((i + 1, f"S{i + 1:07d}", name, c["province_code"], c["code"], levels, True))
            self.by_province.setdefault(c["province_code"], []).append(i + 1)
        await self.copy(
            "schools",
            rows,
            ["id", "code", "name", "province_code", "commune_code", "levels", "active"],
        )
        year = current_school_year(self.today)
        enrolled = [rng.randint(80, 800) for _ in range(plan.schools)]
        await self.copy(
            "enrolments",
            [(s + 1, year, n, int(n * rng.uniform(0.1, 0.7))) for s, n in enumerate(enrolled)],
            ["school_id", "school_year", "students_total", "priority_students"],
        )
        await self.conn.execute("SELECT setval('schools_id_seq', $1)", plan.schools)
        # Devices arrive in a few deliveries per school and are seen at its audits, so each
        # school has a handful of received and seen days, as in real life.
        now = self.now
        self.deliveries = [
            sorted(now - timedelta(days=rng.randint(30, 900)) for _ in range(rng.randint(1, 4)))
            for _ in range(plan.schools + 1)
        ]
        self.audit_days = [
            sorted(now - timedelta(days=rng.randint(1, 400)) for _ in range(rng.randint(0, 3)))
            for _ in range(plan.schools + 1)
        ]
        self.progress.update(task, completed=plan.schools)

    async def donations(self) -> None:
        """Fifty donors, each giving in a few provinces (about 100,000 devices each at the
        national size); five donations per province."""
        rng = self.rng
        await self.conn.executemany(
            "INSERT INTO donors (id, name, short_name, kind) VALUES ($1, $2, $3, $4)",
            [
                (d, f"Nhà tài trợ {d}", f"NT{d}", rng.choice(["foundation", "telecom", "company"]))
                for d in range(1, 51)
            ],
        )
        await self.conn.execute("SELECT setval('donors_id_seq', 50)")
        self.donations: dict[str, list[tuple[int, int]]] = {}
        rows, donation_id = [], 0
        for province in sorted(self.by_province):
            for _ in range(5):
                donation_id += 1
                donor = rng.randint(1, 50)
                received = self.today - timedelta(days=rng.randint(30, 900))
                rows.append((donation_id, donor, province, f"SCALE-{donation_id}", received))
                self.donations.setdefault(province, []).append((donation_id, donor))
        await self.copy(
            "donations", rows, ["id", "donor_id", "province_code", "reference", "received_on"]
        )
        await self.conn.execute("SELECT setval('donations_id_seq', $1)", donation_id)

    def _events(self, events: list[Any], device: list[Any], loan_at: datetime | None) -> None:
        """The history that led to the device's present state, oldest first."""
        rng = self.rng
        device_id, status, school, student = device[0], device[8], device[12], device[13]
        condition, received = device[9], device[14]

        def add(at: datetime, action: str, frm: str | None, to: str | None, **kw: Any) -> None:
            events.append(
                (
                    self.next_event,
                    device_id,
                    at,
                    action,
                    frm,
                    to,
                    kw.get("school"),
                    kw.get("student"),
                    condition,
                    kw.get("data"),
                )
            )
            self.next_event += 1

        if school is None:
            add(received, "registered", None, status)
            return
        add(received - timedelta(days=20), "registered", None, "in_stock")
        add(received - timedelta(days=10), "allocated", "in_stock", "allocated", school=school)
        if status == "allocated":
            return
        add(received, "received", "allocated", "at_school", school=school)
        if device[22] is not None:  # a SIM, installed in its host
            add(received, "sim-installed", "at_school", "at_school", school=school)
        seen = device[15]
        if seen is not None:
            data = json.dumps({"audit_id": self.audit_ids.get((school, seen))})
            add(seen, "audited", "at_school", "at_school", school=school, data=data)
        if status == "assigned" and loan_at is not None:
            add(loan_at, "assigned", "at_school", "assigned", school=school, student=student)
        elif status in STATUS_EVENT:
            at = received + timedelta(days=rng.randint(1, 25))
            add(at, STATUS_EVENT[status], "at_school", status, school=school)

    async def audits(self) -> None:
        """Closed audits, before the devices so that their events can name them."""
        rows, self.audit_ids = [], {}
        audit_id = 0
        for school, days in enumerate(self.audit_days):
            for day in days if school else ():
                audit_id += 1
                rows.append((audit_id, school, day, day, True))
                self.audit_ids[(school, day)] = audit_id
        await self.copy(
            "audits", rows, ["id", "school_id", "started_at", "closed_at", "include_assigned"]
        )
        await self.conn.execute("SELECT setval('audits_id_seq', $1)", max(audit_id, 1))

    async def devices(self) -> None:
        rng, plan, now, today = self.rng, self.plan, self.now, self.today
        provinces = sorted(self.by_province)
        weights = [len(self.by_province[p]) for p in provinces]
        sequences = dict.fromkeys(provinces, 0)
        sim_share = plan.sims / plan.devices
        lendable_share = sum(w for k, w in KINDS if k in LENDABLE) / sum(w for _, w in KINDS)
        lent_share = min(0.9, plan.loans / max(1, (plan.devices - plan.sims) * lendable_share))
        task = self.progress.add_task("devices, students, loans, events", total=plan.devices)
        next_id = 1
        self.events_total = self.loans_total = 0
        for start in range(0, plan.devices, CHUNK):
            n = min(CHUNK, plan.devices - start)
            kinds = weighted(rng, KINDS, n)
            statuses = weighted(rng, STATUSES, n)
            conditions = weighted(rng, CONDITIONS, n)
            chosen = rng.choices(provinces, weights=weights, k=n)
            per_province: dict[str, int] = {}
            for p in chosen:
                per_province[p] = per_province.get(p, 0) + 1
            tags = {p: iter(format_tags(p, sequences[p] + 1, k)) for p, k in per_province.items()}
            for p, k in per_province.items():
                sequences[p] += k
            rows: list[list[Any]] = []
            students: list[Any] = []
            loans: list[Any] = []
            loan_at: dict[int, datetime] = {}
            hosts: list[list[Any]] = []
            for i in range(n):
                device_id = next_id + i
                province = chosen[i]
                kind = "sim" if rng.random() < sim_share else kinds[i]
                status = statuses[i]
                if kind in LENDABLE and rng.random() < lent_share:
                    status = "assigned"
                donation, donor = rng.choice(self.donations[province])
                school = None if status == "in_stock" else rng.choice(self.by_province[province])
                student = None
                make, model = rng.choice(MAKES[kind])
                if school:
                    received_at = rng.choice(self.deliveries[school])
                    later = [d for d in self.audit_days[school] if d > received_at]
                    seen = rng.choice(later) if later and rng.random() < 0.85 else None
                    if status == "allocated":
                        seen = None
                else:
                    received_at = now - timedelta(days=rng.randint(1, 900))
                    seen = None
                if status == "assigned":
                    student = self.next_student
                    self.next_student += 1
                    students.append(self._student(student, school))
                    at = received_at + timedelta(days=rng.randint(3, 30))
                    loan_at[device_id] = at
                    loans.append((device_id, student, school, at, "good"))
                row: list[Any] = [
                    device_id,
                    next(tags[province]),
                    province,
                    kind,
                    make,
                    model,
                    f"{SERIAL_PREFIX[kind]}{device_id:09d}" if kind != "sim" else None,
                    f"35{device_id:013d}" if kind in HOSTS and device_id % 3 else None,
                    status,
                    conditions[i],
                    donation,
                    donor,
                    school,
                    student,
                    received_at,
                    seen,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                ]
                if kind == "sim":
                    row[16] = f"8984{device_id:014d}"
                    row[17] = f"+849{device_id % 100_000_000:08d}"
                    row[18] = rng.choice(CARRIERS)
                    row[19] = "Data 4G học tập"
                    row[20] = rng.choice([4, 30, 60])
                    row[21] = today + timedelta(days=rng.randint(-60, 300))
                rows.append(row)
                if kind in HOSTS and status not in ("retired", "lost", "stolen", "in_stock"):
                    hosts.append(row)
            # Half the SIMs go into a host of the same chunk, and travel with it.
            rng.shuffle(hosts)
            host_iter = iter(hosts)
            for row in rows:
                if row[3] == "sim" and row[12] is not None and rng.random() < 0.5:
                    host = next(host_iter, None)
                    if host is None:
                        break
                    row[22] = host[0]
                    row[8], row[12], row[13], row[14] = host[8], host[12], host[13], host[14]
                    row[15] = host[15]
            events: list[Any] = []
            for row in rows:
                self._events(events, row, loan_at.get(row[0]))
            await self.copy("students", students, STUDENT_COLUMNS)
            await self.copy("devices", [tuple(r) for r in rows], DEVICE_COLUMNS)
            await self.copy("assignments", loans, LOAN_COLUMNS)
            # The history's only foreign key (device_id) points at the rows just loaded.
            await self.conn.execute("SET session_replication_role = replica")
            await self.copy("device_events", events, EVENT_COLUMNS)
            await self.conn.execute("SET session_replication_role = DEFAULT")
            self.events_total += len(events)
            self.loans_total += len(loans)
            next_id += n
            self.progress.update(task, advance=n)
        await self.conn.execute("SELECT setval('devices_id_seq', $1)", next_id)
        await self.conn.execute("SELECT setval('device_events_id_seq', $1)", self.next_event)
        await self.conn.executemany(
            "UPDATE tag_sequences SET last_value = $2 WHERE province_code = $1",
            list(sequences.items()),
        )

    def _student(self, student: int, school: int) -> tuple[Any, ...]:
        rng = self.rng
        grade = rng.randint(1, 12)
        return (
            student,
            school,
            f"HS{student:08d}",
            student_name(rng),
            self.today.year - 6 - grade,
            student_name(rng),
            phone(rng),
            grade,
            f"{grade}A{rng.randint(1, 6)}",
            ["ethnic_minority"] if rng.random() < 0.3 else [],
        )

    async def more_students(self) -> None:
        """Students without a device yet (the rest of the plan's students)."""
        rng, plan = self.rng, self.plan
        missing = max(0, plan.students - (self.next_student - 1))
        task = self.progress.add_task("students without a device", total=missing)
        for start in range(0, missing, CHUNK):
            n = min(CHUNK, missing - start)
            rows = []
            for _ in range(n):
                rows.append(self._student(self.next_student, rng.randint(1, plan.schools)))
                self.next_student += 1
            await self.copy("students", rows, STUDENT_COLUMNS)
            self.progress.update(task, advance=n)
        await self.conn.execute("SELECT setval('students_id_seq', $1)", max(self.next_student, 2))


# The trigger-kept figures per school, in FROM_SCRATCH's columns: the two must be equal.
FROM_COUNTERS = """
SELECT s.id AS school_id, coalesce(c.devices_held, 0), coalesce(c.devices_working, 0),
       coalesce(c.devices_incoming, 0), coalesce(c.students_with_device, 0),
       coalesce(c.priority_with_device, 0),
       coalesce((SELECT sum(students) FROM school_connected x
                  WHERE x.school_id = s.id AND x.until >= $1), 0)::int,
       coalesce((SELECT sum(devices) FROM school_seen x
                  WHERE x.school_id = s.id AND x.seen_on < $2), 0)::int
  FROM schools s LEFT JOIN school_counts c ON c.school_id = s.id
"""


async def verify(conn: asyncpg.Connection) -> None:
    """The coverage counters, the donors' students and the donations' device counts equal
    the same figures computed from the rows."""
    scratch = FROM_SCRATCH.replace(":today", "$1").replace(":cutoff", "$2")
    scratch = scratch.replace("ORDER BY s.id", "")
    today = datetime.now(UTC).date()
    wrong = await conn.fetchval(
        f"SELECT count(*) FROM (({scratch}) EXCEPT ({FROM_COUNTERS})) x",
        today,
        today - timedelta(days=180),
    )
    if wrong:
        raise SystemExit(f"{wrong} schools' counters differ from their rows")
    # The students each donor reached (migration 0040), as the loans say: no row missing
    # from either side.
    wrong = await conn.fetchval(
        """WITH loans AS (
               SELECT d.donor_id, a.student_id, d.province_code,
                      (count(*) FILTER (WHERE a.returned_at IS NULL))::int AS open_loans
                 FROM assignments a JOIN devices d ON d.id = a.device_id GROUP BY 1, 2, 3),
           kept AS (SELECT donor_id, student_id, province_code, open_loans FROM donor_students)
           SELECT (SELECT count(*) FROM (TABLE loans EXCEPT ALL TABLE kept) x)
                + (SELECT count(*) FROM (TABLE kept EXCEPT ALL TABLE loans) y)"""
    )
    if wrong:
        raise SystemExit(f"{wrong} donors' students differ from the loans")
    # Each donation's devices (migration 0044), as the devices say.
    wrong = await conn.fetchval(
        """SELECT count(*) FROM donations d
             LEFT JOIN donation_counts c ON c.donation_id = d.id
             LEFT JOIN (SELECT donation_id, count(*)::int AS n FROM devices GROUP BY 1) x
               ON x.donation_id = d.id
            WHERE coalesce(c.devices, 0) <> coalesce(x.n, 0)"""
    )
    if wrong:
        raise SystemExit(f"{wrong} donations' device counts differ from their devices")


async def seed(url: str, plan: Plan, seed: int, timer: Timer, check: bool) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if await conn.fetchval("SELECT count(*) FROM devices"):
            raise SystemExit("the database already has devices; seed an empty one")
        # A bulk load's commits need not wait for the disk: a crash means seeding again.
        await conn.execute("SET synchronous_commit = off")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(),
        ) as progress:
            seeder = Seeder(conn, plan, seed, progress)
            await seeder.schools()
            timer.mark("schools and enrolments")
            await seeder.donations()
            await seeder.audits()
            timer.mark("donors, donations, audits")
            await seeder.devices()
            timer.mark("devices, students, loans, events")
            await seeder.more_students()
            timer.mark("students without a device")
        orphans = await conn.fetchval(
            "SELECT count(*) FROM device_events e"
            " WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = e.device_id)"
        )
        if orphans:
            raise SystemExit(f"{orphans} events name no device")
        timer.mark("check the history's devices")
        if check:
            await verify(conn)
            timer.mark("check the counters against the rows")
        # The load rewrote each school's counter rows thousands of times in minutes, faster
        # than autovacuum reclaims them (school_counts: 72 MB for 45,000 rows, every scan
        # of it 20x slower). A live installation spreads those updates over months with
        # autovacuum keeping up: compact the counters as it would find them.
        await conn.execute(f"VACUUM (FULL, ANALYZE) {', '.join(COUNTER_TABLES)}")
        await conn.execute("VACUUM (ANALYZE)")
        timer.mark("VACUUM ANALYZE")
        print(
            f"{plan.schools:,} schools, {plan.devices:,} devices,"
            f" {seeder.next_student - 1:,} students, {seeder.loans_total:,} open loans,"
            f" {seeder.events_total:,} events"
        )
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--national", action="store_true", help="the national size (above)")
    parser.add_argument("--scale", type=float, default=1.0, help="with --national: 0.01 …")
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--no-verify", action="store_true", help="skip comparing the counters with the rows"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL to the database to fill (it is migrated first)")
    plan = Plan.national(args.scale) if args.national else Plan.sized(args.devices, args.schools)
    timer = Timer()
    migrate.upgrade(url)
    timer.mark("migrate")
    asyncio.run(seed(url, plan, args.seed, timer, not args.no_verify))
    print(timer.report())


if __name__ == "__main__":
    main()

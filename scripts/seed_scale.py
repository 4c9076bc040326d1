"""Synthetic national data for benchmarks: all 34 provinces and their real communes.

    DATABASE_URL=postgresql://… uv run python scripts/seed_scale.py \
        --devices 1000000 --schools 20000

Loads schools with enrolments, donors and donations, devices (a realistic mix of kinds and
statuses, a fifth of them SIMs, half of those installed in tablets and smartphones),
students, open and returned loans, and closed audits — with COPY, in chunks, so memory stays
flat at 5,000,000 devices too. The coverage counters are kept by the database's own
triggers while loading. No event history is generated (it does not feed any report).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devicetrack.db import migrate
from devicetrack.devices.tags import format_tags
from devicetrack.reports.service import current_school_year
from tests.database import asyncpg_dsn

KINDS = [
    ("tablet", 30),
    ("laptop", 22),
    ("desktop", 8),
    ("smartphone", 15),
    ("sim", 20),
    ("router", 3),
    ("other", 2),
]
STATUSES = [
    ("in_stock", 14),
    ("allocated", 5),
    ("at_school", 33),
    ("assigned", 36),
    ("in_repair", 3),
    ("lost", 2),
    ("stolen", 1),
    ("retired", 6),
]
CONDITIONS = [("new", 20), ("good", 45), ("fair", 22), ("poor", 8), ("broken", 5)]
CHUNK = 200_000
DEVICE_COLUMNS = [
    "id",
    "asset_tag",
    "province_code",
    "kind",
    "make",
    "model",
    "serial",
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
    "plan_expires_on",
    "installed_in_id",
]


def weighted(rng: random.Random, table: list[tuple[str, int]], n: int) -> list[str]:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table], k=n)


async def seed(url: str, devices: int, schools: int, seed: int) -> None:
    rng = random.Random(seed)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if await conn.fetchval("SELECT count(*) FROM devices"):
            raise SystemExit("the database already has devices; seed an empty one")
        communes = await conn.fetch("SELECT code, province_code FROM communes ORDER BY code")
        now = datetime.now(UTC)
        today = now.date()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(),
        ) as progress:
            # Schools and enrolments.
            task = progress.add_task("schools", total=schools)
            school_rows, by_province = [], {}
            for i in range(schools):
                c = communes[rng.randrange(len(communes))]
                school_id = i + 1
                school_rows.append(
                    (
                        school_id,
                        f"S{i + 1:07d}",
                        f"Trường số {i + 1}",
                        c["province_code"],
                        c["code"],
                        ["primary"],
                        True,
                    )
                )
                by_province.setdefault(c["province_code"], []).append(school_id)
            await conn.copy_records_to_table(
                "schools",
                records=school_rows,
                columns=["id", "code", "name", "province_code", "commune_code", "levels", "active"],
            )
            year = current_school_year(today)
            enrolled = {s: rng.randint(80, 1200) for s in range(1, schools + 1)}
            await conn.copy_records_to_table(
                "enrolments",
                records=[(s, year, n, int(n * rng.uniform(0.1, 0.7))) for s, n in enrolled.items()],
                columns=["school_id", "school_year", "students_total", "priority_students"],
            )
            await conn.execute("SELECT setval('schools_id_seq', $1)", schools)
            # Devices arrive in a few deliveries per school and are seen at its audits, so
            # each school has a handful of received and seen days, as in real life.
            deliveries = {
                s: sorted(
                    now - timedelta(days=rng.randint(30, 900)) for _ in range(rng.randint(1, 4))
                )
                for s in range(1, schools + 1)
            }
            audit_days = {
                s: sorted(
                    now - timedelta(days=rng.randint(1, 400)) for _ in range(rng.randint(0, 3))
                )
                for s in range(1, schools + 1)
            }
            progress.update(task, completed=schools)

            # Donors and donations: five per province.
            await conn.executemany(
                "INSERT INTO donors (id, name, short_name, kind) VALUES ($1, $2, $3, $4)",
                [
                    (
                        d,
                        f"Nhà tài trợ {d}",
                        f"NT{d}",
                        rng.choice(["foundation", "telecom", "company"]),
                    )
                    for d in range(1, 51)
                ],
            )
            await conn.execute("SELECT setval('donors_id_seq', 50)")
            donations = {}
            donation_id = 0
            for province in sorted(by_province):
                for _ in range(5):
                    donation_id += 1
                    donor = rng.randint(1, 50)
                    await conn.execute(
                        "INSERT INTO donations (id, donor_id, province_code, reference) VALUES"
                        " ($1, $2, $3, $4)",
                        donation_id,
                        donor,
                        province,
                        f"SCALE-{donation_id}",
                    )
                    donations.setdefault(province, []).append((donation_id, donor))
            await conn.execute("SELECT setval('donations_id_seq', $1)", donation_id)

            # Devices, students and loans, in chunks.
            provinces = sorted(by_province)
            weights = [len(by_province[p]) for p in provinces]
            sequences = dict.fromkeys(provinces, 0)
            task = progress.add_task("devices", total=devices)
            next_id, next_student = 1, 1
            for start in range(0, devices, CHUNK):
                n = min(CHUNK, devices - start)
                kinds = weighted(rng, KINDS, n)
                statuses = weighted(rng, STATUSES, n)
                conditions = weighted(rng, CONDITIONS, n)
                chosen = rng.choices(provinces, weights=weights, k=n)
                per_province: dict[str, int] = {}
                for p in chosen:
                    per_province[p] = per_province.get(p, 0) + 1
                tags = {
                    p: iter(format_tags(p, sequences[p] + 1, k)) for p, k in per_province.items()
                }
                for p, k in per_province.items():
                    sequences[p] += k
                rows, students, loans = [], [], []
                hosts: list[tuple[int, str, int | None, int | None]] = []
                for i in range(n):
                    device_id = next_id + i
                    province, kind = chosen[i], kinds[i]
                    status = statuses[i]
                    donation, donor = rng.choice(donations[province])
                    school = None if status == "in_stock" else rng.choice(by_province[province])
                    if status == "assigned" and kind == "sim":
                        status = "at_school"
                    student = None
                    if status == "assigned":
                        student = next_student
                        next_student += 1
                        students.append(
                            (
                                student,
                                school,
                                f"HS{student:08d}",
                                rng.randint(1, 12),
                                ["ethnic_minority"] if rng.random() < 0.4 else [],
                            )
                        )
                        received = now - timedelta(days=rng.randint(30, 700))
                        loans.append((device_id, student, school, received + timedelta(days=10)))
                    if school:
                        received_at = rng.choice(deliveries[school])
                        later = [d for d in audit_days[school] if d > received_at]
                        seen = rng.choice(later) if later and rng.random() < 0.85 else None
                    else:
                        received_at = now - timedelta(days=rng.randint(1, 900))
                        seen = None
                    row = [
                        device_id,
                        next(tags[province]),
                        province,
                        kind,
                        "Make",
                        "Model",
                        f"SN{device_id:09d}" if kind != "sim" else None,
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
                    ]
                    if kind == "sim":
                        row[15] = f"8984{device_id:014d}"
                        row[16] = f"+849{device_id % 100_000_000:08d}"
                        row[17] = rng.choice(["viettel", "vinaphone", "mobifone"])
                        row[18] = "Data 4G"
                        row[19] = today + timedelta(days=rng.randint(-60, 120))
                    rows.append(row)
                    if kind in ("tablet", "smartphone") and status not in ("retired",):
                        hosts.append((device_id, status, school, student))
                # Half the SIMs go into a host of the same chunk, and travel with it.
                rng.shuffle(hosts)
                host_iter = iter(hosts)
                for row in rows:
                    if row[3] == "sim" and rng.random() < 0.5:
                        host = next(host_iter, None)
                        if host is None:
                            break
                        row[20], row[7], row[11], row[12] = host[0], host[1], host[2], host[3]
                if students:
                    await conn.copy_records_to_table(
                        "students",
                        records=students,
                        columns=["id", "school_id", "student_code", "grade", "priority"],
                    )
                await conn.copy_records_to_table(
                    "devices", records=[tuple(r) for r in rows], columns=DEVICE_COLUMNS
                )
                if loans:
                    await conn.copy_records_to_table(
                        "assignments",
                        records=[(d, s, sc, at, "good") for d, s, sc, at in loans],
                        columns=[
                            "device_id",
                            "student_id",
                            "school_id",
                            "assigned_at",
                            "condition_out",
                        ],
                    )
                next_id += n
                progress.update(task, advance=n)
            await conn.execute("SELECT setval('devices_id_seq', $1)", next_id)
            await conn.execute("SELECT setval('students_id_seq', $1)", max(next_student, 2))
            await conn.executemany(
                "UPDATE tag_sequences SET last_value = $2 WHERE province_code = $1",
                list(sequences.items()),
            )
            # Students without a device yet, and closed audits at half the schools.
            extra = [
                (
                    next_student + i,
                    rng.randint(1, schools),
                    f"HS{next_student + i:08d}",
                    rng.randint(0, 12),
                    [],
                )
                for i in range(devices // 10)
            ]
            await conn.copy_records_to_table(
                "students",
                records=extra,
                columns=["id", "school_id", "student_code", "grade", "priority"],
            )
            await conn.execute("SELECT setval('students_id_seq', $1)", next_student + len(extra))
            await conn.copy_records_to_table(
                "audits",
                records=[(s, day, day, True) for s, days in audit_days.items() for day in days],
                columns=["school_id", "started_at", "closed_at", "include_assigned"],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL to the database to fill (it is migrated first)")
    migrate.upgrade(url)
    started = time.perf_counter()
    asyncio.run(seed(url, args.devices, args.schools, args.seed))
    print(
        f"seeded {args.devices:,} devices and {args.schools:,} schools in "
        f"{time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()

"""Every page of every role and every list, search and report endpoint, timed on the scale data.

    DATABASE_URL=postgresql://…/dt_national uv run python scripts/bench_pages.py
    DATABASE_URL=… uv run python scripts/bench_pages.py --runs 20 --only 'search|donor'

Starts one app process (one worker) on 127.0.0.1 against DATABASE_URL (a database filled by
`scripts/seed_scale.py`), signs in one user of each role (an admin, the officer of the
province with the most schools, the staff of its busiest school, the donor whose gift is
closest to 100,000 devices), then requests each row's path `--runs` times one after
another (after two warm-up requests) and prints a Markdown table of the p50 and p95 time
from sending the request to reading the whole answer, over loopback: the server's time plus
well under a millisecond of the client's. Rows over the budget (150 ms p95) are marked.
Exports, PDFs and label images are not here (scripts/bench_intake.py, bench_labels.py and
the export benchmarks measure them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
from _common import running_server  # type: ignore[import-not-found]

from devicetrack.auth.secrets import new_token, token_digest
from tests.database import asyncpg_dsn

BUDGET_MS = 150.0
SESSION_COOKIE = "dt_session"
FOLD = str.maketrans(
    "àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ",
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd",
)


def fold(text: str) -> str:
    """A name as typed without diacritics ("Nguyễn Thị Thảo" → "nguyen thi thao")."""
    return text.lower().translate(FOLD)


@dataclass
class Fixtures:
    province: str
    commune: str
    school: int
    device: str
    lent_device: str
    student: int
    student_name: str
    loan: int
    serial: str
    imei: str
    msisdn: str
    sim: str
    donor: int
    donor_devices: int
    donation: int
    province_donation: int
    audit: int
    school_word: str
    tokens: dict[str, str]
    users: dict[str, int]


async def _user(conn: asyncpg.Connection, role: str, **scope: object) -> tuple[int, str]:
    user_id = await conn.fetchval(
        "INSERT INTO users (email, full_name, password_hash, role, province_code, donor_id)"
        " VALUES ($1, $2, 'x', $3, $4, $5) RETURNING id",
        f"bench-{role}-{uuid.uuid4().hex[:8]}@bench.devicetrack.vn",
        f"Bench {role}",
        role,
        scope.get("province"),
        scope.get("donor"),
    )
    if scope.get("school"):
        await conn.execute(
            "INSERT INTO user_schools (user_id, school_id) VALUES ($1, $2)",
            user_id,
            scope["school"],
        )
    token = new_token("dt")
    await conn.execute(
        "INSERT INTO auth_tokens (token_hash, user_id, expires_at)"
        " VALUES ($1, $2, now() + interval '3 hours')",
        token_digest(token),
        user_id,
    )
    return user_id, token


async def fixtures(url: str) -> Fixtures:
    """The busiest province and its busiest audited school, one of its lent devices and
    that student, and the identities to search for; users of each role."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        province = await conn.fetchval(
            "SELECT province_code FROM schools GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        school, commune, school_name = await conn.fetchrow(
            "SELECT s.id, s.commune_code, s.name FROM schools s"
            " JOIN school_counts c ON c.school_id = s.id"
            " WHERE s.province_code = $1 AND c.last_audit_at IS NOT NULL"
            " ORDER BY c.devices_held DESC LIMIT 1",
            province,
        )
        lent = await conn.fetchrow(
            "SELECT d.asset_tag, d.student_id, a.id AS loan, st.full_name FROM devices d"
            " JOIN assignments a ON a.device_id = d.id AND a.returned_at IS NULL"
            " JOIN students st ON st.id = d.student_id"
            " WHERE d.school_id = $1 AND d.status = 'assigned' AND d.kind <> 'sim'"
            " ORDER BY d.id LIMIT 1",
            school,
        )
        device = await conn.fetchrow(
            "SELECT asset_tag, serial FROM devices WHERE school_id = $1 AND status = 'at_school'"
            " AND serial IS NOT NULL ORDER BY id LIMIT 1",
            school,
        )
        imei = await conn.fetchval(
            "SELECT imei FROM devices WHERE school_id = $1 AND imei IS NOT NULL LIMIT 1", school
        )
        sim = await conn.fetchrow(
            "SELECT asset_tag, msisdn FROM devices WHERE school_id = $1 AND kind = 'sim'"
            " AND msisdn IS NOT NULL LIMIT 1",
            school,
        )
        donors = await conn.fetch("SELECT donor_id, count(*) AS n FROM devices GROUP BY 1")
        target = 100_000 * (
            await conn.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'devices'")
            / 5_000_000
        )
        donor = min(donors, key=lambda r: abs(r["n"] - target))
        donation = await conn.fetchval(
            "SELECT id FROM donations WHERE donor_id = $1 ORDER BY id LIMIT 1", donor["donor_id"]
        )
        province_donation = await conn.fetchval(
            "SELECT id FROM donations WHERE province_code = $1"
            " ORDER BY donor_id = $2 DESC, id LIMIT 1",
            province,
            donor["donor_id"],
        )
        audit = await conn.fetchval(
            "SELECT id FROM audits WHERE school_id = $1 ORDER BY id DESC LIMIT 1", school
        )
        users, tokens = {}, {}
        for role, scope in (
            ("admin", {}),
            ("province_officer", {"province": province}),
            ("school_staff", {"school": school}),
            ("donor", {"donor": donor["donor_id"]}),
        ):
            users[role], tokens[role] = await _user(conn, role, **scope)
        return Fixtures(
            province=province,
            commune=commune,
            school=school,
            device=device["asset_tag"],
            lent_device=lent["asset_tag"],
            student=lent["student_id"],
            student_name=fold(lent["full_name"]),
            loan=lent["loan"],
            serial=device["serial"],
            imei=imei,
            msisdn=sim["msisdn"],
            sim=sim["asset_tag"],
            donor=donor["donor_id"],
            donor_devices=donor["n"],
            donation=donation,
            province_donation=province_donation,
            audit=audit or 0,
            # The commune in the school's name, as typed without diacritics.
            school_word=" ".join(fold(school_name).split(" so ")[0].split()[-2:]),
            tokens=tokens,
            users=users,
        )
    finally:
        await conn.close()


def rows(f: Fixtures) -> list[tuple[str, str, str]]:
    """(role, what, path): pages are requested with the role's session cookie, /api/ with
    its bearer token."""
    s, p, d = f.school, f.province, f.device
    fragment = f.device.split("-")[1]  # the tag's six-digit sequence, "DT01-012345-6"
    phone = "0" + f.msisdn[3:]  # as people write it: 09…
    name = " ".join(f.student_name.split()[-2:])  # "thi thao": the last two words
    pages = [
        ("/", "home"),
        ("/account", "account"),
        (f"/devices/{d}", "a device"),
        (f"/scan?code={d}", "scan a tag"),
    ]
    school_pages = [
        (f"/schools/{s}", "school: devices"),
        (f"/schools/{s}?status=assigned&kind=tablet", "school: devices, filtered"),
        (f"/schools/{s}?q={fragment}", "school: devices, q=tag fragment"),
        (f"/schools/{s}/students", "school: students"),
        (f"/schools/{s}/students?q={name}", "school: students, q=name without diacritics"),
        (f"/schools/{s}/loans", "school: loans"),
        (f"/schools/{s}/loans?overdue=1", "school: overdue loans"),
        (f"/schools/{s}/audits", "school: audits"),
        (f"/audits/{f.audit}", "an audit"),
        (f"/schools/{s}/receive", "school: receive form"),
        (f"/students/{f.student}", "a student"),
        (f"/devices/{f.lent_device}/return", "return form"),
        (f"/devices/{d}/lend", "lend form"),
        (f"/devices/{d}/lend/students?q={name}", "lend: pick a student"),
    ]
    province_pages = [
        (f"/province?province={p}", "province dashboard"),
        (f"/province/communes/{f.commune}", "commune dashboard"),
        (f"/province/sims?province={p}", "province: SIM expiry"),
        (f"/province/audits?province={p}", "province: audit due"),
        (f"/schools/{s}/allocate", "school: allocate form"),
        (f"/donations/{f.province_donation}", "a donation of the province"),
    ]
    admin_pages = [
        ("/province", "national dashboard"),
        ("/admin", "admin"),
        ("/admin/schools", "admin: schools"),
        (f"/admin/schools?province={p}", "admin: schools of a province"),
        (f"/admin/schools/{s}", "admin: a school"),
        ("/admin/users", "admin: users"),
        (f"/admin/users/{f.users['province_officer']}", "admin: a user"),
        ("/admin/donors", "admin: donors"),
        (f"/admin/donors/{f.donor}", "admin: a donor"),
        ("/admin/enrolments", "admin: enrolments"),
        ("/admin/api-keys", "admin: API keys"),
        ("/admin/outbox", "admin: outbox"),
        (f"/donor?donor={f.donor}", "donor page (admin)"),
    ]
    donor_pages = [
        ("/donor", "donor page: impact"),
        (f"/donations/{f.donation}", "a donation"),
    ]
    api = [
        ("/api/v1/me", "me"),
        ("/api/v1/provinces", "provinces"),
        (f"/api/v1/provinces/{p}/communes", "communes"),
        (f"/api/v1/devices/{d}", "a device"),
        (f"/api/v1/devices/{f.lent_device}/events", "events of a device"),
        (f"/api/v1/scan/{d}", "scan"),
        ("/api/v1/devices", "devices, nation (first page)"),
        (f"/api/v1/devices?school={s}", "devices of a school"),
        (f"/api/v1/devices?school={s}&status=assigned&kind=tablet", "school devices, filtered"),
        (f"/api/v1/devices?province={p}&status=in_stock", "province stock"),
        ("/api/v1/devices?status=lost", "devices lost, nation"),
        (f"/api/v1/devices?q={fragment}", "search: tag fragment"),
        (f"/api/v1/devices?q={f.serial.lower()}", "search: serial"),
        (f"/api/v1/devices?q={f.imei}", "search: IMEI"),
        (f"/api/v1/devices?q={phone}", "search: phone number"),
        (f"/api/v1/devices?q={f.sim}", "search: whole tag"),
        (f"/api/v1/devices?donor={f.donor}", f"devices of a donor ({f.donor_devices:,})"),
        ("/api/v1/students", "students, nation (first page)"),
        (f"/api/v1/students?school={s}", "students of a school"),
        (f"/api/v1/students?school={s}&q={name}", "students of a school, q=name"),
        (f"/api/v1/students?q={name}", "search: student name, nation"),
        (f"/api/v1/students/{f.student}", "a student"),
        (f"/api/v1/assignments?student={f.student}", "a student's loans"),
        (f"/api/v1/assignments/{f.loan}", "a loan"),
        (f"/api/v1/assignments?school={s}&open=true", "open loans of a school"),
        ("/api/v1/assignments?overdue=true", "overdue loans, nation"),
        (f"/api/v1/schools/{s}/loans", "school loans"),
        (f"/api/v1/schools/{s}/loans?overdue=true", "school loans overdue"),
        ("/api/v1/schools", "schools, nation (first page)"),
        (f"/api/v1/schools?province={p}", "schools of a province"),
        (f"/api/v1/schools?q={f.school_word}", "search: schools by name"),
        ("/api/v1/schools?q=tieu hoc", "search: schools, a third of them"),
        (f"/api/v1/schools/{s}", "a school"),
        (f"/api/v1/schools/{s}/enrolments", "enrolments"),
        (f"/api/v1/schools/{s}/condition-history", "condition history"),
        (f"/api/v1/schools/{s}/quotas", "quotas"),
        ("/api/v1/reports/coverage?level=nation", "coverage, nation"),
        ("/api/v1/reports/coverage?level=province", "coverage, provinces"),
        ("/api/v1/reports/coverage?level=school", "coverage, all 45,000 schools"),
        (f"/api/v1/reports/coverage?level=commune&province={p}", "coverage, communes"),
        (f"/api/v1/reports/coverage?level=school&province={p}", "coverage, schools"),
        (f"/api/v1/reports/gaps?province={p}", "gaps"),
        ("/api/v1/reports/sim-expiry", "SIM expiry, nation"),
        (f"/api/v1/reports/sim-expiry?province={p}", "SIM expiry, province"),
        (f"/api/v1/reports/sim-expiry?province={p}&within_days=all", "SIM expiry, all"),
        (f"/api/v1/reports/audit-due?province={p}", "audit due, province"),
        ("/api/v1/reports/audit-due", "audit due, nation"),
        (f"/api/v1/reports/donors/{f.donor}/impact", f"donor impact ({f.donor_devices:,})"),
        ("/api/v1/donations", "donations, nation"),
        (f"/api/v1/donations?donor={f.donor}", "donations of a donor"),
        (f"/api/v1/donations/{f.donation}", "a donation"),
        (f"/api/v1/donations/{f.donation}/devices", "devices of a donation"),
        ("/api/v1/donors", "donors"),
        ("/api/v1/audits", "audits, nation (first page)"),
        (f"/api/v1/audits?school={s}", "audits of a school"),
        (f"/api/v1/audits/{f.audit}", "an audit"),
        ("/api/v1/allocations", "allocations"),
        ("/api/v1/users", "users"),
        ("/api/v1/users/invitations", "invitations"),
        ("/api/v1/api-keys", "API keys"),
        ("/api/v1/label-batches", "label batches"),
        ("/api/v1/mail/messages", "mail outbox"),
        ("/api/v1/privacy/access-log", "access log"),
        (f"/api/v1/students/{f.student}/access-log", "a student's access log"),
        (f"/api/v1/students/{f.student}/consents", "consents"),
    ]
    out: list[tuple[str, str, str]] = []
    out += [("admin", what, path) for path, what in pages + school_pages + province_pages]
    out += [("admin", what, path) for path, what in admin_pages]
    out += [("province_officer", what, path) for path, what in pages + province_pages]
    out.append(("province_officer", "school: devices", f"/schools/{s}"))
    out += [("school_staff", what, path) for path, what in pages + school_pages]
    out += [("donor", what, path) for path, what in donor_pages]
    out += [("admin", "API: " + what, path) for path, what in api]
    for role, path, what in (
        ("province_officer", f"/api/v1/devices?q={fragment}", "search: tag fragment"),
        ("province_officer", f"/api/v1/devices?q={phone}", "search: phone number"),
        ("province_officer", "/api/v1/reports/coverage?level=school", "coverage, schools"),
        ("province_officer", "/api/v1/reports/sim-expiry", "SIM expiry, own province"),
        ("province_officer", "/api/v1/reports/audit-due", "audit due, own province"),
        ("school_staff", f"/api/v1/students?q={name}", "search: student name"),
        ("school_staff", f"/api/v1/devices?q={fragment}", "search: tag fragment"),
        ("donor", f"/api/v1/reports/donors/{f.donor}/impact", "donor impact"),
        ("donor", f"/api/v1/devices?donor={f.donor}", "own devices"),
        ("donor", f"/api/v1/devices?q={fragment}", "search: tag fragment"),
    ):
        out.append((role, "API: " + what, path))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench(base: str, f: Fixtures, runs: int, only: str | None) -> list[tuple[str, ...]]:
    table = []
    for role, what, path in rows(f):
        if only and not re.search(only, f"{role} {what} {path}"):
            continue
        token = f.tokens[role]
        api = path.startswith("/api/")
        headers = {"Authorization": f"Bearer {token}"} if api else {"Accept": "text/html"}
        cookies = {} if api else {SESSION_COOKIE: token}
        with httpx.Client(base_url=base, headers=headers, cookies=cookies, timeout=60) as client:
            times, status = [], 0
            for i in range(runs + 2):
                start = time.perf_counter()
                r = client.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                status = r.status_code
                if i >= 2:
                    times.append(elapsed)
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        mark = "" if p95 <= BUDGET_MS and status < 400 else " ✗"
        table.append((role, what, path, str(status), f"{p50:.1f}", f"{p95:.1f}{mark}"))
        print(f"{role:<17} {what:<45} {status} p50 {p50:7.1f} p95 {p95:7.1f}{mark}", flush=True)
    return table


def baseline(url: str) -> tuple[float, float]:
    """This machine's speed, measured in the same run as the table (median of 5 each): a
    fixed pure-Python loop and a fixed PostgreSQL aggregate, in ms. Tables from different
    boxes (or from one box whose neighbours changed) compare through these."""

    def python_loop() -> None:
        total = 0
        for i in range(2_000_000):
            total += i

    async def sql() -> list[float]:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            # In memory: at the default 4 MB the aggregate spills to a temporary file and
            # measures the disk too.
            await conn.execute("SET work_mem = '64MB'")
            times = []
            for _ in range(5):
                start = time.perf_counter()
                await conn.fetchval("SELECT count(*) FROM generate_series(1, 1000000)")
                times.append((time.perf_counter() - start) * 1000)
            return times
        finally:
            await conn.close()

    loops = []
    for _ in range(5):
        start = time.perf_counter()
        python_loop()
        loops.append((time.perf_counter() - start) * 1000)
    return statistics.median(loops), statistics.median(asyncio.run(sql()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", help="a regular expression on role, name and path")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL to a database filled by scripts/seed_scale.py")
    f = asyncio.run(fixtures(url))
    before = baseline(url)
    with running_server(url) as (base, _):
        table = bench(base, f, args.runs, args.only)
    after = baseline(url)
    over = [r for r in table if "✗" in r[5]]
    print()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; {args.runs} requests")
    print(f"each, one app process; budget {BUDGET_MS:.0f} ms p95 (✗: over it, or not 2xx/3xx)")
    print(
        "baseline, same run (before / after the table): Python loop of 2,000,000 additions "
        f"{before[0]:.0f} / {after[0]:.0f} ms; PostgreSQL count(*) of 1,000,000 generated rows "
        f"{before[1]:.0f} / {after[1]:.0f} ms"
    )
    print()
    print("| role | request | path | status | p50 ms | p95 ms |")
    print("|---|---|---|---|---:|---:|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    print(f"\n{len(table)} rows, {len(over)} over budget")


if __name__ == "__main__":
    main()

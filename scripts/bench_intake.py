"""Bulk intake benchmark: the HTTP API against a COPY of the same rows into a table with
the devices table's columns, indexes and checks.

    uv run python scripts/bench_intake.py [--devices 100000] [--runs 1] [--webhooks on|off]

Generates a valid CSV (a realistic mix: laptops, desktops, tablets, smartphones with
valid IMEIs, and a third SIMs with ICCIDs and phone numbers), starts a server on
127.0.0.1 against a scratch database, uploads the CSV through POST
/api/v1/donations/{id}/devices, then in the same run COPYs the same device rows with
asyncpg's copy_records_to_table into a scratch table created `LIKE devices INCLUDING ALL`
(the same columns, defaults, checks and indexes, so the same unique identities to keep;
no foreign keys, triggers or history). That is the limit any intake that keeps the
identities unique works against. Prints both rates, the ratio (target ≥ 40%), the
server's breakdown of the upload's time (its Server-Timing header: body, parse, validate
and each database step), and the server's peak memory (target ≤ 500 MB). For context it
also prints a COPY into a plain table with no index or check.

`--webhooks` (migration 0033's outbox trigger on device_events): `on` (the default) as
installed, with no subscription; `off` disables the trigger (the intake as before webhooks);
`subscribed` adds an admin's subscription to device.registered, so the intake writes its
outbox (one message per 500 devices) in its transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import sys
import time
from datetime import date, timedelta

import asyncpg
import httpx
from _common import admin_token, bench_database, peak_rss_mb, running_server  # type: ignore[import-not-found]

from devicetrack.devices.identity import luhn_digit
from devicetrack.devices.tags import format_tags
from tests.database import asyncpg_dsn

HEADER = [
    "kind",
    "make",
    "model",
    "serial",
    "imei",
    "iccid",
    "msisdn",
    "carrier",
    "plan_name",
    "plan_expires_on",
    "condition",
    "note",
]


def make_rows(n: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    expires = (date.today() + timedelta(days=90)).isoformat()
    rows = []
    for i in range(n):
        r = i % 30
        if r < 10:  # a third are SIMs, paired with tablets later
            iccid_body = f"898404{i:012d}"
            rows.append(
                [
                    "sim",
                    "",
                    "",
                    "",
                    "",
                    iccid_body + luhn_digit(iccid_body),
                    f"09{i % 100_000_000:08d}",
                    rng.choice(["viettel", "vinaphone"]),
                    "Data 4G 3 tháng",
                    expires,
                    "new",
                    "",
                ]
            )
        elif r < 20:
            rows.append(
                [
                    "tablet",
                    "Samsung",
                    "Galaxy Tab A9",
                    f"TAB{i:09d}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "new",
                    "",
                ]
            )
        elif r < 25:
            body = f"35{i:012d}"
            rows.append(
                [
                    "smartphone",
                    "Xiaomi",
                    "Redmi 13",
                    "",
                    body + luhn_digit(body),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "new",
                    "",
                ]
            )
        elif r < 29:
            rows.append(
                [
                    "laptop",
                    "Dell",
                    "Latitude 3440",
                    f"LAP{i:09d}",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "new",
                    "máy tặng",
                ]
            )
        else:
            rows.append(
                ["desktop", "HP", "ProDesk 400", f"DSK{i:09d}", "", "", "", "", "", "", "good", ""]
            )
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


async def raw_copy_rate(url: str, rows: list[list[str]]) -> float:
    """Context: the same rows COPYed into a plain table of the same shape (no index)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "CREATE TABLE bench_raw_devices (kind text, make text, model text, serial text,"
            " imei text, iccid text, msisdn text, carrier text, plan_name text,"
            " plan_expires_on date, condition text, note text)"
        )
        records = [
            (
                *(v or None for v in r[:9]),
                date.fromisoformat(r[9]) if r[9] else None,
                r[10],
                r[11] or None,
            )
            for r in rows
        ]
        start = time.perf_counter()
        await conn.copy_records_to_table("bench_raw_devices", records=records, columns=HEADER)
        elapsed = time.perf_counter() - start
        await conn.execute("DROP TABLE bench_raw_devices")
        return len(rows) / elapsed
    finally:
        await conn.close()


async def indexed_copy_rate(url: str, rows: list[list[str]]) -> float:
    """The baseline: the same rows COPYed into a scratch table with the devices table's
    columns, checks and indexes (no foreign keys, triggers or history). This is what the
    database itself must do for any intake that keeps the unique identities."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("CREATE TABLE bench_like_devices (LIKE devices INCLUDING ALL)")
        records = _device_records(rows, 1, 1, 1)
        columns = ["asset_tag", "province_code", *HEADER, "status", "donation_id", "donor_id"]
        start = time.perf_counter()
        await conn.copy_records_to_table("bench_like_devices", records=records, columns=columns)
        elapsed = time.perf_counter() - start
        await conn.execute("DROP TABLE bench_like_devices")
        return len(rows) / elapsed
    finally:
        await conn.close()


def _device_records(
    rows: list[list[str]], first: int, donation: int, donor: int
) -> list[tuple[object, ...]]:
    return [
        (
            tag,
            "11",
            r[0],
            *(v or None for v in r[1:6]),
            "+84" + r[6][1:] if r[6] else None,
            r[7] or None,
            r[8] or None,
            date.fromisoformat(r[9]) if r[9] else None,
            r[10],
            r[11] or None,
            "in_stock",
            donation,
            donor,
        )
        for tag, r in zip(format_tags("11", first, len(rows)), rows, strict=True)
    ]


async def floor_rate(url: str, rows: list[list[str]], donation: int, donor: int) -> float:
    """Context: the least any intake that keeps what the devices table keeps must do. The
    same rows (other identities) COPYed straight into `devices` (its foreign keys and
    coverage trigger included) and one `registered` event each into `device_events` (its
    foreign keys), in one transaction that is then rolled back."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        actor = await conn.fetchval("SELECT min(id) FROM users")
        records = _device_records(rows, 600_000, donation, donor)
        columns = ["asset_tag", "province_code", *HEADER, "status", "donation_id", "donor_id"]
        async with conn.transaction():
            start = time.perf_counter()
            ids = [
                r[0]
                for r in await conn.fetch(
                    "SELECT nextval('devices_id_seq') FROM generate_series(1, $1)", len(rows)
                )
            ]
            await conn.copy_records_to_table(
                "devices",
                records=[(i, *r) for i, r in zip(ids, records, strict=True)],
                columns=["id", *columns],
            )
            await conn.copy_records_to_table(
                "device_events",
                records=[
                    (i, actor, "registered", "in_stock", r[12], '{"donation_id": 0}')
                    for i, r in zip(ids, records, strict=True)
                ],
                columns=["device_id", "actor_id", "action", "to_status", "condition", "data"],
            )
            elapsed = time.perf_counter() - start
            await conn.execute("SELECT 1")
            raise _RollBack
    except _RollBack:
        return len(rows) / elapsed
    finally:
        await conn.close()


async def set_webhooks(url: str, mode: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if mode == "off":
            await conn.execute("ALTER TABLE device_events DISABLE TRIGGER webhooks_device_events")
        elif mode == "subscribed":
            await conn.execute(
                "INSERT INTO webhook_subscriptions (url, events, secret)"
                " VALUES ('http://127.0.0.1:9/bench', ARRAY['device.registered'], 'whsec_YmVuY2g=')"
            )
    finally:
        await conn.close()


class _RollBack(Exception):
    pass


async def api_rate(base: str, token: str, data: bytes, n: int) -> tuple[float, str, int, int]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
        donor = (
            await client.post(
                "/api/v1/donors",
                json={
                    "name": f"Bench donor {time.time()}",
                    "short_name": "Bench",
                    "kind": "telecom",
                },
            )
        ).json()
        donation = (
            await client.post(
                "/api/v1/donations",
                json={
                    "donor_id": donor["id"],
                    "province_code": "11",
                    "reference": f"BENCH-{time.time()}",
                    "pledged": [{"kind": "tablet", "quantity": n}],
                },
            )
        ).json()
        start = time.perf_counter()
        response = await client.post(
            f"/api/v1/donations/{donation['id']}/devices",
            files={"file": ("devices.csv", data, "text/csv")},
        )
        elapsed = time.perf_counter() - start
        if response.status_code != 201:
            raise SystemExit(f"intake failed: {response.status_code} {response.text[:500]}")
        created = response.json()["created"]
        assert created == n, created
        return (
            n / elapsed,
            response.headers.get("server-timing", ""),
            donation["id"],
            donor["id"],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="upload and COPY this many times")
    parser.add_argument("--webhooks", choices=("on", "off", "subscribed"), default="on")
    args = parser.parse_args()
    print(f"webhooks: {args.webhooks}")
    with bench_database() as url, running_server(url) as (base, proc):
        token = asyncio.run(admin_token(url))
        asyncio.run(set_webhooks(url, args.webhooks))
        for run in range(args.runs):
            # Fresh identities each run (the same rows twice would be refused as taken).
            rows = make_rows(args.devices, seed=7 + run)
            if run:
                _shift(rows, run)
            data = to_csv(rows)
            load = os.getloadavg()[0]
            api, timing, donation, donor = asyncio.run(api_rate(base, token, data, args.devices))
            indexed = asyncio.run(indexed_copy_rate(url, rows))
            floor_rows = [list(r) for r in rows]
            _shift(floor_rows, 50 + run)
            floor = asyncio.run(floor_rate(url, floor_rows, donation, donor))
            raw = asyncio.run(raw_copy_rate(url, rows))
            peak = peak_rss_mb(proc.pid)
            print(
                f"run {run + 1}: {args.devices:,} devices, CSV {len(data) / 1e6:.1f} MB, "
                f"load average {load:.1f} (2 cores, shared)"
            )
            print(f"  COPY into LIKE devices INCLUDING ALL: {indexed:>10,.0f} devices/s")
            print(f"  API intake (HTTP):                    {api:>10,.0f} devices/s")
            print(
                f"  ratio API / that COPY:                {api / indexed:>10.1%}   (target >= 40%)"
            )
            print(f"  server time by phase (ms):            {timing}")
            print(
                f"  context: COPY into devices + events:  {floor:>10,.0f} devices/s"
                f"   (that / LIKE COPY {floor / indexed:.1%}; API / that {api / floor:.1%})"
            )
            print(f"  context: COPY into a plain table:     {raw:>10,.0f} devices/s")
            print(f"  server peak memory:                   {peak:>10.0f} MB   (target <= 500 MB)")
    sys.exit(0)


def _shift(rows: list[list[str]], run: int) -> None:
    """Other serials, IMEIs and ICCIDs for a later run in the same database."""
    for r in rows:
        if r[3]:
            r[3] = f"R{run}{r[3]}"
        if r[4]:
            body = f"{30 + run}{r[4][2:14]}"
            r[4] = body + luhn_digit(body)
        if r[5]:
            body = f"8984{run:02d}{r[5][6:18]}"
            r[5] = body + luhn_digit(body)


if __name__ == "__main__":
    main()

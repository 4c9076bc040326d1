"""Bulk intake benchmark: the HTTP API against a raw asyncpg COPY of the same rows.

    uv run python scripts/bench_intake.py [--devices 100000] [--webhooks on|off|subscribed]

Generates a valid CSV (a realistic mix: laptops, desktops, tablets, smartphones with
valid IMEIs, and a third SIMs with ICCIDs and phone numbers), starts a server on
127.0.0.1 against a scratch database, uploads the CSV through POST
/api/v1/donations/{id}/devices, then in the same run COPYs the same rows into a scratch
table with asyncpg's copy_records_to_table. Prints both rates, the ratio (target ≥ 40%)
and the server's peak memory (target ≤ 500 MB).

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
    """The baseline: the same rows COPYed into a plain table of the same shape."""
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
    """Context, not the target: the same rows COPYed into a scratch table with the devices
    table's columns, checks and indexes (no foreign keys, triggers or history). This is what
    the database itself must do for any intake that keeps the unique identities."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("CREATE TABLE bench_like_devices (LIKE devices INCLUDING ALL)")
        tags = format_tags("11", 1, len(rows))
        records = [
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
                1,
                1,
            )
            for tag, r in zip(tags, rows, strict=True)
        ]
        columns = ["asset_tag", "province_code", *HEADER, "status", "donation_id", "donor_id"]
        start = time.perf_counter()
        await conn.copy_records_to_table("bench_like_devices", records=records, columns=columns)
        elapsed = time.perf_counter() - start
        await conn.execute("DROP TABLE bench_like_devices")
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


async def api_rate(base: str, token: str, data: bytes, n: int) -> float:
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
        return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--webhooks", choices=("on", "off", "subscribed"), default="on")
    args = parser.parse_args()
    rows = make_rows(args.devices)
    data = to_csv(rows)
    print(f"devices: {args.devices}, CSV size: {len(data) / 1e6:.1f} MB, webhooks {args.webhooks}")
    with bench_database() as url, running_server(url) as (base, proc):
        token = asyncio.run(admin_token(url))
        asyncio.run(set_webhooks(url, args.webhooks))
        api = asyncio.run(api_rate(base, token, data, args.devices))
        raw = asyncio.run(raw_copy_rate(url, rows))
        indexed = asyncio.run(indexed_copy_rate(url, rows))
        peak = peak_rss_mb(proc.pid)
    print(f"raw asyncpg COPY:   {raw:>10,.0f} devices/s")
    print(f"API intake (HTTP):  {api:>10,.0f} devices/s")
    print(f"ratio API / COPY:   {api / raw:>10.1%}   (target >= 40%)")
    print(
        f"context: COPY into a scratch table with devices' indexes and checks:"
        f" {indexed:,.0f} devices/s; API / that: {api / indexed:.1%}"
    )
    print(f"server peak memory: {peak:>10.0f} MB   (target <= 500 MB)")
    sys.exit(0)


if __name__ == "__main__":
    main()

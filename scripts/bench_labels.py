"""Label benchmark: python-barcode's raw Code 128 encoding of 10,000 tags against the API's
10,000-label avery-l7651 PDF, in one run.

    uv run python scripts/bench_labels.py [--labels 10000]

Registers the devices in a scratch database, starts a server on 127.0.0.1, times
POST /api/v1/labels for the whole donation (the full PDF downloaded), and times
`barcode.Code128(tag).build()` for the same tags. Target: PDF labels/s ≥ 25% of the raw
encode rate; one 65-label sheet well under a second.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import barcode
import httpx
from _common import admin_token, bench_database, running_server  # type: ignore[import-not-found]


async def api(base: str, token: str, n: int) -> tuple[list[str], float, float, int]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
        donor = (
            await client.post(
                "/api/v1/donors",
                json={
                    "name": f"Label bench {time.time()}",
                    "short_name": "VTVV",
                    "kind": "foundation",
                },
            )
        ).json()
        donation = (
            await client.post(
                "/api/v1/donations",
                json={
                    "donor_id": donor["id"],
                    "province_code": "11",
                    "reference": f"LBL-{time.time()}",
                },
            )
        ).json()
        created = await client.post(
            f"/api/v1/donations/{donation['id']}/devices",
            json=[{"kind": "tablet"} for _ in range(n)],
        )
        created.raise_for_status()
        tags = created.json()["asset_tags"]
        start = time.perf_counter()
        sheet = await client.post(
            "/api/v1/labels", json={"asset_tags": tags[:65], "template": "avery-l7651"}
        )
        sheet.raise_for_status()
        one_sheet = time.perf_counter() - start
        start = time.perf_counter()
        pdf = await client.post(
            "/api/v1/labels", json={"donation_id": donation["id"], "template": "avery-l7651"}
        )
        pdf.raise_for_status()
        elapsed = time.perf_counter() - start
        return tags, n / elapsed, one_sheet, len(pdf.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=int, default=10_000)
    args = parser.parse_args()
    with bench_database() as url, running_server(url) as (base, _):
        token = asyncio.run(admin_token(url))
        tags, pdf_rate, one_sheet, size = asyncio.run(api(base, token, args.labels))
    start = time.perf_counter()
    for tag in tags:
        barcode.Code128(tag).build()
    raw_rate = len(tags) / (time.perf_counter() - start)
    print(f"raw Code 128 encode:       {raw_rate:>9,.0f} labels/s")
    print(f"API avery-l7651 PDF:       {pdf_rate:>9,.0f} labels/s  ({size / 1e6:.1f} MB)")
    print(f"ratio PDF / raw:           {pdf_rate / raw_rate:>9.0%}   (target >= 25%)")
    print(f"one 65-label sheet:        {one_sheet * 1000:>9.0f} ms")


if __name__ == "__main__":
    main()

"""The long fuzz run: schemathesis against a real server on 127.0.0.1 with the demo data,
as every role, until it finds no server error.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        uv run python scripts/fuzz_long.py --seed 1 --max-examples 100

What it does:
- a scratch database (on DATABASE_URL's server, or an embedded PostgreSQL), migrated and
  loaded with the demo (Điện Biên: schools, donations, devices, students, loans, an audit);
- forces generic plans on that database (`--plans force`, the default), and the server runs
  with one connection per pool: a statement that only works with custom plans fails at
  once, and every statement repeats on the same connection as in production;
- for each role (admin, province_officer, school_staff, donor): a fresh user and token, then
  `schemathesis run` with all phases (examples, coverage, fuzzing, stateful with links
  inferred from Location headers and from the schema's dependencies), the `--seed` given,
  `--max-examples` per operation, and the demo's real ids (schools, devices, students…)
  offered for half of the path parameters so requests get past the lookups;
- a server error is any 5xx answer: the run lists them by operation, with the server log's
  traceback for each, and exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _common import ROOT, asyncpg_dsn, bench_database, free_port  # type: ignore[import-not-found]

from devicetrack.auth.secrets import new_token, token_digest
from devicetrack.demo.loader import load_demo

ROLES = ("admin", "province_officer", "school_staff", "donor")
# Path parameters and the query that lists real values for them (the demo's, a few each).
REAL_IDS = {
    "school_id": "SELECT id::text FROM schools ORDER BY id LIMIT 20",
    "donor_id": "SELECT id::text FROM donors ORDER BY id",
    "donation_id": "SELECT id::text FROM donations ORDER BY id",
    "asset_tag": "SELECT asset_tag FROM devices ORDER BY id LIMIT 30",
    "student_id": "SELECT id::text FROM students ORDER BY id LIMIT 30",
    "consent_id": "SELECT id::text FROM consents ORDER BY id LIMIT 20",
    "assignment_id": "SELECT id::text FROM assignments ORDER BY id LIMIT 20",
    "allocation_id": "SELECT id::text FROM allocations ORDER BY id LIMIT 20",
    "audit_id": "SELECT id::text FROM audits ORDER BY id",
    "batch_id": "SELECT id::text FROM label_batches ORDER BY id",
    "user_id": "SELECT id::text FROM users ORDER BY id",
    "key_id": "SELECT id::text FROM api_keys ORDER BY id",
    "code": "SELECT code FROM provinces ORDER BY code LIMIT 5",
}


async def _real_ids(url: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        found = {}
        for name, query in REAL_IDS.items():
            values = [r[0] for r in await conn.fetch(query)]
            if values:
                found[name] = values
        return found
    finally:
        await conn.close()


async def _caller(url: str, role: str) -> str:
    """A fresh user of this role with the demo user's scope, and a bearer token for it."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        demo = await conn.fetchrow(
            "SELECT id, province_code, donor_id FROM users WHERE role = $1 ORDER BY id LIMIT 1",
            role,
        )
        user_id = await conn.fetchval(
            """INSERT INTO users (email, full_name, password_hash, role, province_code, donor_id)
               VALUES ($1, 'Fuzz', 'x', $2, $3, $4) RETURNING id""",
            f"fuzz-{role}-{random.randrange(10**9)}@fuzz.devicetrack.vn",
            role,
            demo["province_code"] if demo else None,
            demo["donor_id"] if demo else None,
        )
        if demo is not None:
            await conn.execute(
                "INSERT INTO user_schools (user_id, school_id)"
                " SELECT $1, school_id FROM user_schools WHERE user_id = $2",
                user_id,
                demo["id"],
            )
        token = new_token("dt")
        await conn.execute(
            "INSERT INTO auth_tokens (token_hash, user_id, expires_at)"
            " VALUES ($1, $2, now() + interval '12 hours')",
            token_digest(token),
            user_id,
        )
        return token
    finally:
        await conn.close()


async def _plans(url: str, mode: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        name = await conn.fetchval("SELECT current_database()")
        setting = "force_generic_plan" if mode == "force" else "auto"
        await conn.execute(f'ALTER DATABASE "{name}" SET plan_cache_mode = {setting}')
    finally:
        await conn.close()


def _config(path: Path, token: str, ids: dict[str, list[str]], args: argparse.Namespace) -> None:
    """schemathesis.toml: the caller's token, real ids for half the path parameters, and
    every phase (the stateful one with inferred links)."""
    lines = [
        f"seed = {args.seed}",
        "workers = 1",
        # Wait for slow answers: a request the client abandons still holds its connection,
        # and with one per pool the next requests would queue behind it.
        f"request-timeout = {args.request_timeout}",
        f'headers = {{ Authorization = "Bearer {token}" }}',
        "",
        "[generation]",
        f"max-examples = {args.max_examples}",
        'database = "none"',
        "",
        "[checks]",
        "enabled = false",
        "not_a_server_error.enabled = true",
        "",
        "[phases.stateful]",
        f"max-steps = {args.max_steps}",
        'inference.algorithms = ["location-headers", "dependency-analysis"]',
        "",
    ]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}' for name in ids]
    path.write_text("\n".join(lines) + "\n")


def _server(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The app on 127.0.0.1 with one connection per pool; its log (tracebacks) to a file."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "DEVICETRACK_POOL_SIZE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devicetrack.cli", "serve", "--no-migrate", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"the server did not become ready; see {log}")


def _answers(report: Path) -> tuple[Counter[str], list[dict[str, Any]]]:
    """From schemathesis' ndjson events: requests per operation, and every 5xx answer
    (operation, phase, status, the request id the server logged it under)."""
    calls: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    if not report.exists():
        return calls, errors
    for line in report.read_text().splitlines():
        event = json.loads(line).get("ScenarioFinished")
        if not event:
            continue
        recorder = event.get("recorder") or {}
        cases = recorder.get("cases") or {}
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            response = interaction.get("response") or {}
            case = (cases.get(case_id) or {}).get("value") or {}
            label = f"{case.get('method', '?')} {case.get('path', recorder.get('label', '?'))}"
            calls[label] += 1
            status = int(response.get("status_code") or 0)
            if status >= 500:
                request_id = (response.get("headers") or {}).get("x-request-id", ["?"])[0]
                errors.append(
                    {
                        "operation": label,
                        "phase": event.get("phase"),
                        "status": status,
                        "request_id": request_id,
                    }
                )
    return calls, errors


def _causes(log: Path) -> dict[str, str]:
    """The last line of the traceback the server logged for each request id."""
    causes: dict[str, str] = {}
    current: str | None = None
    for line in log.read_text(errors="replace").splitlines():
        match = re.search(r"unexpected error \(request (\w+)\)", line)
        if match:
            current = match.group(1)
        elif current and line and not line.startswith((" ", "Traceback", "\t")):
            causes[current] = line.strip()[:300]
            if not line.startswith(("During handling", "The above exception")):
                current = None
    return causes


# Operations that create an object, and the path parameter that names it elsewhere.
CREATES = {
    "/api/v1/users": "user_id",
    "/api/v1/api-keys": "key_id",
    "/api/v1/schools": "school_id",
    "/api/v1/donors": "donor_id",
    "/api/v1/donations": "donation_id",
    "/api/v1/label-batches": "batch_id",
    "/api/v1/allocations": "allocation_id",
    "/api/v1/students": "student_id",
    "/api/v1/students/{student_id}/consents": "consent_id",
    "/api/v1/assignments": "assignment_id",
    "/api/v1/audits": "audit_id",
}


def _with_links(raw: dict[str, Any]) -> dict[str, Any]:
    """The schema with OpenAPI links from each create operation's answer (its `id`, and the
    first registered device's tag) to every operation that takes that id in its path, so the
    stateful phase chains create → read → change → delete on objects that exist."""
    operations = [
        (path, op["operationId"])
        for path, item in raw["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete") and "operationId" in op
    ]

    def links_to(param: str, expression: str, source: str) -> dict[str, Any]:
        links = {}
        for path, operation_id in operations:
            if "{" + param + "}" not in path:
                continue
            parameters = {f"path.{param}": expression}
            for other in re.findall(r"\{(\w+)\}", path):
                if other != param and "{" + other + "}" in source:
                    parameters[f"path.{other}"] = f"$request.path.{other}"
            links[operation_id] = {"operationId": operation_id, "parameters": parameters}
        return links

    for path, item in raw["paths"].items():
        post = item.get("post")
        if not post:
            continue
        created = (post.get("responses") or {}).get("201")
        if created is None:
            continue
        if path in CREATES:
            created.setdefault("links", {}).update(
                links_to(CREATES[path], "$response.body#/id", path)
            )
        elif path == "/api/v1/donations/{donation_id}/devices":
            created.setdefault("links", {}).update(
                links_to("asset_tag", "$response.body#/asset_tags/0", path)
            )
    return raw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=random.randrange(1, 10**6))
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=20, help="per stateful scenario")
    parser.add_argument("--request-timeout", type=float, default=120.0, help="seconds")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--plans", choices=("force", "auto"), default="force")
    parser.add_argument("--out", type=Path, default=None, help="keep reports and logs here")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress as it goes
    # Stopped with SIGTERM (or SIGINT in a background job, which ignores it): still stop the
    # server and drop the scratch database on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = args.out or Path(tempfile.mkdtemp(prefix="devicetrack-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"seed {args.seed}, {args.max_examples} examples per operation, reports in {out}")
    failed: Counter[str] = Counter()
    log = out / "server.log"
    with bench_database() as url:
        asyncio.run(load_demo(url))
        asyncio.run(_plans(url, args.plans))
        ids = asyncio.run(_real_ids(url))
        log = out / "server.log"
        proc, base = _server(url, log)
        schema = out / "openapi.json"
        raw = httpx.get(f"{base}/schema/openapi.json", timeout=30).json()
        schema.write_text(json.dumps(_with_links(raw)))
        operations = [
            f"{method.upper()} {path}"
            for path, item in raw["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        ]
        try:
            for role in args.roles.split(","):
                token = asyncio.run(_caller(url, role))
                config = out / f"schemathesis-{role}.toml"
                _config(config, token, ids, args)
                report = out / f"events-{role}.ndjson"
                started = time.monotonic()
                command = [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "--config-file",
                    str(config),
                    "--no-color",
                    "run",
                    str(schema),
                    "--url",
                    base,
                    "--phases",
                    args.phases,
                    "--report",
                    "ndjson",
                    "--report-ndjson-path",
                    str(report),
                    "--continue-on-failure",
                ]
                result = subprocess.run(
                    command, cwd=out, capture_output=True, text=True, check=False
                )
                (out / f"schemathesis-{role}.txt").write_text(result.stdout + result.stderr)
                calls, errors = _answers(report)
                causes = _causes(log)
                for error in errors:
                    cause = causes.get(error["request_id"], "no traceback logged")
                    failed[f"{role} {error['operation']} -> {error['status']}: {cause}"] += 1
                tail = result.stdout.strip().splitlines()[-1:] or [result.stderr[-300:]]
                fewest = min(calls[label] for label in operations)
                print(
                    f"{role}: {sum(calls.values())} requests, at least {fewest} to each of the"
                    f" {len(operations)} operations,"
                    f" {len(errors)} server errors, {time.monotonic() - started:.0f} s"
                    f" (schemathesis: {tail[0].strip('= ')})"
                )
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    tracebacks = log.read_text(errors="replace").count("unexpected error (request")
    print(f"server log: {tracebacks} unexpected errors logged ({log})")
    for what, n in failed.most_common():
        print(f"  {n:4d}  {what}")
    return 1 if failed or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())

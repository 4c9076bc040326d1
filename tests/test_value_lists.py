"""Each value list is one StrEnum in its domain's values.py: the database's CHECKs hold the
same values, no other source file spells a list out again, and a value outside a list is
refused the same way by the API, the import and the pages."""

from __future__ import annotations

import ast
import importlib
import re
from enum import StrEnum
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.accounts.values import InvitationStatus
from devicetrack.audits.values import ScanOutcome
from devicetrack.auth.values import Locale, Role
from devicetrack.devices.values import (
    ActivationLock,
    Carrier,
    Condition,
    DeviceKind,
    DeviceStatus,
)
from devicetrack.digests.values import Digest
from devicetrack.donors.values import DonorKind
from devicetrack.evidence.values import EvidenceKind
from devicetrack.idempotency.values import Kept
from devicetrack.labels.templates import TEMPLATES
from devicetrack.labels.values import TemplateName
from devicetrack.mail.values import MailStatus, Transport
from devicetrack.schools.values import SchoolLevel
from devicetrack.students.values import ConsentMethod, ConsentSubject, PriorityFlag, StudentStatus
from devicetrack.webhooks.values import DeliveryStatus, DisabledReason, WebhookEvent
from tests.factories import Factory, assert_problem
from tests.lifecycle_helpers import API, make_scene
from tests.web_helpers import browser, form

PACKAGE = Path(__file__).resolve().parents[1] / "devicetrack"

# Every column that stores a value of a list, and its list. A CHECK restricting a column
# to a list of values that is missing here fails the test, and so does a column here
# without its CHECK: a new list, or a new column holding one, is declared on both sides.
COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("idempotency_keys", "kept"): Kept,
    ("devices", "kind"): DeviceKind,
    ("devices", "status"): DeviceStatus,
    ("devices", "condition"): Condition,
    ("devices", "carrier"): Carrier,
    ("devices", "repair_return_status"): DeviceStatus,
    ("devices", "activation_lock"): ActivationLock,
    ("donation_lines", "kind"): DeviceKind,
    ("school_quotas", "kind"): DeviceKind,
    ("allocations", "kind"): DeviceKind,
    ("assignments", "condition_out"): Condition,
    ("assignments", "condition_in"): Condition,
    ("audit_scans", "condition"): Condition,
    ("audit_expected", "status_at_start"): DeviceStatus,
    ("users", "role"): Role,
    ("users", "locale"): Locale,
    ("donors", "kind"): DonorKind,
    ("schools", "levels"): SchoolLevel,
    ("students", "status"): StudentStatus,
    ("students", "priority"): PriorityFlag,
    ("consents", "method"): ConsentMethod,
    ("consents", "subject"): ConsentSubject,
    ("invitations", "role"): Role,
    ("invitations", "locale"): Locale,
    ("digest_opt_outs", "digest"): Digest,
    ("mail_messages", "status"): MailStatus,
    ("mail_messages", "transport"): Transport,
    ("webhook_subscriptions", "events"): WebhookEvent,
    ("webhook_messages", "event_type"): WebhookEvent,
    ("webhook_deliveries", "status"): DeliveryStatus,
    ("webhook_subscriptions", "disabled_reason"): DisabledReason,
    ("evidence", "kind"): EvidenceKind,
}
# Lists that are not stored in a column of their own.
NOT_STORED: set[type[StrEnum]] = {TemplateName, ScanOutcome, InvitationStatus}

# `x = ANY (ARRAY[...])` is how PostgreSQL keeps `x IN (...)`; `x <@ ARRAY[...]` holds
# every element of an array column to the list.
_LIST_CHECK = re.compile(r"= ANY \(+ARRAY\[|<@ ARRAY\[")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")

LIST_CHECKS = """
SELECT c.conrelid::regclass::text AS tbl, c.conname, a.attname AS col,
       pg_get_constraintdef(c.oid) AS def, c.convalidated
  FROM pg_constraint c
  JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public'
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
 WHERE c.contype = 'c' AND cardinality(c.conkey) = 1
"""


def _value_enums() -> set[type[StrEnum]]:
    """Every StrEnum defined in a domain's values.py."""
    found: set[type[StrEnum]] = set()
    for path in PACKAGE.glob("*/values.py"):
        module = importlib.import_module(f"devicetrack.{path.parent.name}.values")
        found |= {
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, StrEnum) and v.__module__ == module.__name__
        }
    return found


async def test_every_list_check_in_the_database_matches_its_enum(db: asyncpg.Pool) -> None:
    rows = [r for r in await db.fetch(LIST_CHECKS) if _LIST_CHECK.search(r["def"])]
    live = {(r["tbl"], r["col"]): r for r in rows}
    assert len(live) == len(rows), "two list CHECKs on one column"
    assert set(live) == set(COLUMNS), {
        "checked but not declared here": sorted(set(live) - set(COLUMNS)),
        "declared here but unchecked": sorted(set(COLUMNS) - set(live)),
    }
    drift = {}
    for key, row in live.items():
        values = {v.replace("''", "'") for v in _QUOTED.findall(row["def"])}
        expected = {str(v) for v in COLUMNS[key]}
        if values != expected or not row["convalidated"]:
            drift[f"{row['conname']} ({key[0]}.{key[1]})"] = {
                "only in the database": sorted(values - expected),
                "only in the enum": sorted(expected - values),
                "validated": row["convalidated"],
            }
    assert not drift, drift


def test_every_enum_is_stored_under_a_check_or_said_not_to_be() -> None:
    enums = _value_enums()
    assert enums == set(COLUMNS.values()) | NOT_STORED, enums ^ (set(COLUMNS.values()) | NOT_STORED)
    # The label stocks: one size per template name, and no name without its size.
    assert set(TEMPLATES) == set(TemplateName)


def _spelled_lists(path: Path) -> list[tuple[int, set[str]]]:
    """(line, values) of every literal list of strings in a source file: tuples, lists,
    sets, Literal[...] and StrEnum bodies in Python; quoted lists in SQL text and templates."""
    text = path.read_text(encoding="utf-8")
    found: list[tuple[int, set[str]]] = []
    quoted = re.compile(r"""(?:'[\w-]+'|"[\w-]+")(?:\s*,\s*(?:'[\w-]+'|"[\w-]+"))+""")
    if path.suffix != ".py":
        for number, line in enumerate(text.splitlines(), 1):
            found += [(number, set(re.findall(r"[\w-]+", m))) for m in quoted.findall(line)]
        return found
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            strings = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if len(strings) == len(node.elts) and all(isinstance(v, str) for v in strings):
                found.append((node.lineno, set(strings)))
        elif isinstance(node, ast.ClassDef):
            body = [s.value for s in node.body if isinstance(s, ast.Assign)]
            found.append((node.lineno, {v.value for v in body if isinstance(v, ast.Constant)}))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [
                (node.lineno, set(re.findall(r"[\w-]+", m))) for m in quoted.findall(node.value)
            ]
    return found


def test_each_value_list_is_spelled_out_once() -> None:
    """No module or template writes a list's values out again (a Literal, a tuple for a
    form, an `IN (...)` in SQL), whole or with values added: they read the enum. The
    migrations are snapshots and are not scanned; the test above holds them to the enums."""
    enums = _value_enums()
    places: dict[str, list[str]] = {e.__name__: [] for e in enums}
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".html"):
            continue
        for line, values in _spelled_lists(path):
            for enum in enums:
                if {str(v) for v in enum} <= values:
                    places[enum.__name__].append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    for enum in enums:
        home = f"devicetrack/{enum.__module__.split('.')[1]}/values.py"
        assert [p.split(":")[0] for p in places[enum.__name__]] == [home], (enum, places)


async def test_a_condition_outside_the_list_is_refused_everywhere_and_by_the_database(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    """One list, four doors: the API body and query, the intake rows and the page form
    all refuse "shiny" naming the field (the intake listing the enum's values), and the
    loan's condition, which no CHECK held before 0015, is now held by the database too."""
    scene = await make_scene(client, db, factory)
    tags = await scene.tablets(1)
    tag = tags[0]
    await scene.at_school(tags)
    loan = await scene.lend(tag, await scene.consenting_student())

    body = assert_problem(
        await client.post(
            f"{API}/assignments/{loan['id']}/return",
            headers=scene.staff_a.headers,
            json={"condition_in": "shiny"},
        ),
        400,
    )
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        ("condition_in", "Invalid enum value 'shiny'")
    ]
    query = assert_problem(
        await client.get(f"{API}/devices?condition=shiny", headers=scene.staff_a.headers), 400
    )
    assert [e["field"] for e in query["errors"]] == ["query.condition"], query

    intake = assert_problem(
        await client.post(
            f"{API}/donations/{scene.donation_id}/devices",
            headers=scene.officer.headers,
            json=[{"kind": "tablet", "condition": "shiny"}],
        ),
        422,
    )
    assert "condition" in str(intake), intake
    assert f"unknown condition; use one of {', '.join(Condition)}" in str(intake), intake

    page = await web.post(
        f"/devices/{tag}/return",
        data=form(scene.staff_a, condition="shiny"),
        headers=browser(scene.staff_a),
    )
    assert page.status_code == 422, page.text
    assert "not one of the choices" in page.text
    assert (await scene.device(tag))["status"] == "assigned"  # nothing was taken back

    with pytest.raises(asyncpg.CheckViolationError) as refused:
        await db.execute("UPDATE assignments SET condition_in = 'shiny' WHERE id = $1", loan["id"])
    assert refused.value.constraint_name == "ck_assignments_condition_in_known"

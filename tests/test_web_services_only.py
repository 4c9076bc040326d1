"""The web calls services only (issue #11): no page reads or writes the database itself and
none decides who may do what. The import-linter contract in pyproject.toml keeps
repositories, table models and devicetrack.db out of devicetrack/web; this test reads the
web's source for what imports cannot show: SQL, queries on a session or pool, role and scope
checks. Each test is fed a violation first, so a check that finds nothing cannot pass by
looking at the wrong thing."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "devicetrack" / "web"

# What a page may take from the database libraries: the handles it passes to services.
HANDLES = {"sqlalchemy.ext.asyncio": {"AsyncSession", "AsyncEngine"}, "asyncpg": {"Pool"}}
# Methods that talk to the database, on a session, connection, engine or pool.
DB_METHODS = frozenset(
    {
        "execute",
        "executemany",
        "fetch",
        "fetchrow",
        "fetchval",
        "scalar",
        "scalars",
        "scalar_one",
        "scalar_one_or_none",
        "stream",
        "stream_scalars",
        "copy_records_to_table",
        "copy_to_table",
        "copy_from_query",
        "flush",
        "commit",
        "rollback",
        "refresh",
        "begin",
        "begin_nested",
        "connection",
        "connect",
        "acquire",
        "run_sync",
    }
)
# The one use of a handle the pages make: a savepoint around a service call, so that a
# refused form is shown again with nothing it touched kept (forms.attempt).
ALLOWED_DB_CALLS = {("forms.py", "attempt", "begin_nested")}
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.S)
# What a caller's role and scope are read from; deciding on them is the services' job.
ROLE_AND_SCOPE = frozenset(
    {
        "is_admin",
        "is_province_officer",
        "is_school_staff",
        "is_donor",
        "role",
        "school_ids",
        "donor_id",
        "province_code",
    }
)
# Where a user lands after sign-in: navigation, not a permission (the page it names checks
# the caller through its services like any other).
ALLOWED_ROLE_READS = {("navigation.py", "home_of")}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(WEB.glob("*.py")):
        yield path.name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def functions_of(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(name of the enclosing function or "<module>", node) for every node."""

    def walk(node: ast.AST, owner: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            name = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else owner
            )
            yield name, child
            yield from walk(child, name)

    yield from walk(tree, "<module>")


def database_imports(name: str, tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in ("sqlalchemy", "asyncpg"):
                allowed = HANDLES.get(node.module, set())
                found += [
                    f"{name}: {node.module}.{a.name}" for a in node.names if a.name not in allowed
                ]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    found.append(f"{name}: import {alias.name}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "asyncpg"
            and node.attr not in HANDLES["asyncpg"]
        ):
            found.append(f"{name}: asyncpg.{node.attr}")
    return found


def database_calls(name: str, tree: ast.AST) -> list[str]:
    found = []
    for owner, node in functions_of(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DB_METHODS
            and (name, owner, node.func.attr) not in ALLOWED_DB_CALLS
        ):
            found.append(f"{name}:{node.lineno} {owner}: .{node.func.attr}()")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL.search(node.value)
        ):
            found.append(f"{name}:{node.lineno} {owner}: SQL text")
    return found


def role_decisions(name: str, tree: ast.AST) -> list[str]:
    found = []
    for owner, node in functions_of(tree):
        if (name, owner) in ALLOWED_ROLE_READS:
            continue
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ROLE_AND_SCOPE
            and isinstance(node.value, ast.Name)
            and node.value.id in ("principal", "me", "caller")
        ):
            found.append(f"{name}:{node.lineno} {owner}: {node.value.id}.{node.attr}")
        if isinstance(node, ast.Name) and node.id == "Forbidden":
            found.append(f"{name}:{node.lineno} {owner}: Forbidden")
    return found


VIOLATIONS = """
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
import asyncpg

async def page(tx: AsyncSession, pool: asyncpg.Pool, principal) -> None:
    await tx.execute(select(1))
    await pool.fetch("SELECT id, name FROM schools WHERE id = ANY($1)")
    await asyncpg.connect("postgresql://")
    if not principal.is_admin and principal.province_code != "11":
        raise Forbidden("No.")
"""


def test_the_checks_catch_each_kind_of_violation() -> None:
    tree = ast.parse(VIOLATIONS)
    assert database_imports("bad.py", tree) == [
        "bad.py: sqlalchemy.select",
        "bad.py: sqlalchemy.text",
        "bad.py: asyncpg.connect",
    ]
    assert [v.split(": ", 1)[1] for v in database_calls("bad.py", tree)] == [
        ".execute()",
        ".fetch()",
        "SQL text",
        ".connect()",
    ]
    assert [v.split(": ", 1)[1] for v in role_decisions("bad.py", tree)] == [
        "principal.is_admin",
        "principal.province_code",
        "Forbidden",
    ]


def test_the_web_imports_only_the_handles_it_passes_to_services() -> None:
    assert [v for name, tree in modules() for v in database_imports(name, tree)] == []


def test_no_page_queries_the_database() -> None:
    assert [v for name, tree in modules() for v in database_calls(name, tree)] == []


def test_no_page_decides_on_role_or_scope() -> None:
    """Who may see or do what is the services' (auth.scope, each domain's service, the
    lifecycle's table for a device's actions): a page asks them and shows the answer."""
    assert [v for name, tree in modules() for v in role_decisions(name, tree)] == []


def test_the_allowances_are_still_needed() -> None:
    """An allowance nobody uses any more is removed rather than left as a hole."""
    sources = {name: tree for name, tree in modules()}
    for module, function, method in ALLOWED_DB_CALLS:
        calls = [
            node
            for owner, node in functions_of(sources[module])
            if owner == function
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == method
        ]
        assert calls, (module, function, method)
    for module, function in ALLOWED_ROLE_READS:
        reads = [
            node
            for owner, node in functions_of(sources[module])
            if owner == function and isinstance(node, ast.Attribute) and node.attr in ROLE_AND_SCOPE
        ]
        assert reads, (module, function)

"""Fuzzing the API from its own OpenAPI schema (schemathesis): for every operation, as an
admin and as school staff, generated requests never get a 5xx, and every 4xx is
problem+json. Bounded: a fixed number of examples per operation."""

from __future__ import annotations

import warnings

import pytest
import schemathesis
from hypothesis.errors import NonInteractiveExampleWarning
from schemathesis.core import NotSet

from tests.factories import DIEN_BIEN

EXAMPLES_PER_OPERATION = 12


@pytest.mark.parametrize("role", ["admin", "school_staff"])
async def test_no_server_errors_and_problem_json(client, factory, role) -> None:
    school = await factory.school(DIEN_BIEN)
    caller = await (factory.admin() if role == "admin" else factory.staff(school))
    raw = (await client.get("/schema/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(raw)
    failures: list[str] = []
    calls = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        for result in schema.get_all_operations():
            operation = result.ok()
            strategy = operation.as_strategy()
            for _ in range(EXAMPLES_PER_OPERATION):
                case = strategy.example()
                headers = {
                    k: str(v)
                    for k, v in (case.headers or {}).items()
                    if k.lower() not in ("authorization", "x-api-key")
                }
                headers.update(caller.headers)
                kwargs = {"params": case.query or {}, "headers": headers}
                body = case.body
                if isinstance(body, bytes | str):
                    kwargs["content"] = body
                elif not isinstance(body, NotSet) and body is not None:
                    kwargs["json"] = body
                response = await client.request(case.method, case.formatted_path, **kwargs)
                calls += 1
                where = f"{case.method} {case.formatted_path} -> {response.status_code}"
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.text[:200]}")
                elif response.status_code >= 400 and not response.headers.get(
                    "content-type", ""
                ).startswith("application/problem+json"):
                    failures.append(f"{where}: not problem+json")
    assert calls > 100
    assert not failures, "\n".join(failures[:30])

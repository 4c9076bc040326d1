"""Bad requests get an RFC 9457 problem (4xx, never 500) naming the field at fault."""

from __future__ import annotations

import json

import pytest

from tests.factories import DIEN_BIEN, assert_problem

DONORS = "/api/v1/donors"
MIB = 1024 * 1024


def _clean(response) -> None:
    """Nothing internal leaks into a client error."""
    text = response.text
    for leak in ("Traceback", "sqlalchemy", "asyncpg", "SELECT ", "INSERT ", 'File "'):
        assert leak not in text, text


async def _asgi_post(app, path: str, headers: dict[str, str], chunks: list[bytes]):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    pending = list(chunks)
    sent: list[dict] = []

    async def receive() -> dict:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


@pytest.fixture
async def admin(factory):
    return await factory.admin()


async def test_malformed_json_is_400_problem(client, db, admin) -> None:
    for content in (
        b'{"name": ',
        b'{"name": x}',
        b"{'name': 'single quotes'}",
        b'{"name": "a",}',
        b"\xff\xfe",
    ):
        response = await client.post(
            DONORS, content=content, headers={**admin.headers, "Content-Type": "application/json"}
        )
        body = assert_problem(response, 400)
        assert body["type"].endswith("/malformed-json"), (content, body)
        _clean(response)
    assert await db.fetchval("SELECT count(*) FROM donors") == 0


async def test_empty_or_non_object_body_is_400_problem(client, admin) -> None:
    json_headers = {**admin.headers, "Content-Type": "application/json"}
    empty = assert_problem(await client.post(DONORS, content=b"", headers=json_headers), 400)
    assert empty["errors"] == [{"message": "a JSON body is required"}]
    for content in (b"[1, 2]", b'"donor"', b"null", b"42"):
        response = await client.post(DONORS, content=content, headers=json_headers)
        body = assert_problem(response, 400)
        assert body["errors"][0]["message"].startswith("Expected `object`"), body
        _clean(response)


async def test_wrong_type_names_the_field(client, db, admin) -> None:
    for body, field in (
        ({"name": 42, "short_name": "A", "kind": "company"}, "name"),
        ({"name": "A", "short_name": "A", "kind": ["company"]}, "kind"),
        ({"name": "A", "short_name": "A", "kind": "charity"}, "kind"),
        ({"name": "A", "short_name": None, "kind": "company"}, "short_name"),
        ({"name": "A", "short_name": "A", "kind": "company", "country": 84}, "country"),
    ):
        response = await client.post(DONORS, json=body, headers=admin.headers)
        problem = assert_problem(response, 400)
        assert problem["type"].endswith("/validation")
        assert [e["field"] for e in problem["errors"]] == [field], problem
        assert all(e["message"] for e in problem["errors"])
        _clean(response)
    assert await db.fetchval("SELECT count(*) FROM donors") == 0


async def test_wrong_types_elsewhere(client, db, factory, admin) -> None:
    school = await factory.school(DIEN_BIEN)
    enrolment = await client.post(
        f"/api/v1/schools/{school}/enrolments",
        json={"school_year": "2025-2026", "students_total": "nhiều"},
        headers=admin.headers,
    )
    assert assert_problem(enrolment, 400)["errors"][0]["field"] == "students_total"
    levels = await client.post(
        "/api/v1/schools",
        json={"code": "A", "name": "B", "commune_code": "03151", "levels": "primary"},
        headers=admin.headers,
    )
    assert assert_problem(levels, 400)["errors"][0]["field"] == "levels"
    active = await client.get("/api/v1/schools", params={"active": "maybe"}, headers=admin.headers)
    assert assert_problem(active, 400)["errors"][0]["field"] == "query.active"
    assert await db.fetchval("SELECT count(*) FROM enrolments") == 0
    assert await db.fetchval("SELECT count(*) FROM schools") == 1


async def test_missing_field_is_named(client, admin) -> None:
    response = await client.post(
        DONORS, json={"name": "A", "kind": "company"}, headers=admin.headers
    )
    problem = assert_problem(response, 400)
    assert [e["field"] for e in problem["errors"]] == ["short_name"], problem


async def test_unknown_field_is_refused_and_named(client, db, factory, admin) -> None:
    response = await client.post(
        DONORS,
        json={"name": "A", "short_name": "A", "kind": "company", "website": "https://a.vn"},
        headers=admin.headers,
    )
    problem = assert_problem(response, 400)
    assert [e["field"] for e in problem["errors"]] == ["website"], problem
    assert await db.fetchval("SELECT count(*) FROM donors") == 0

    # An unknown field is never silently dropped, least of all one that would escalate.
    officer = await factory.officer()
    escalate = await client.patch(
        f"/api/v1/users/{officer.user_id}",
        json={"role": "admin", "full_name": "x"},
        headers=admin.headers,
    )
    assert [e["field"] for e in assert_problem(escalate, 400)["errors"]] == ["role"]
    row = await db.fetchrow("SELECT role, full_name FROM users WHERE id = $1", officer.user_id)
    assert row["role"] == "province_officer" and row["full_name"] != "x"


async def test_oversize_json_body_is_413_problem(client, db, admin) -> None:
    big = {"name": "A", "short_name": "A", "kind": "company", "contact_name": "x" * (MIB + 10)}
    response = await client.post(DONORS, json=big, headers=admin.headers)
    body = assert_problem(response, 413)
    assert body["type"].endswith("/payload-too-large")
    assert len(response.content) < 2000  # the body is not echoed back
    assert await db.fetchval("SELECT count(*) FROM donors") == 0

    # Without a Content-Length (a chunked upload), the cap holds too. The test client
    # always sets the length, so this one goes to the ASGI app directly.
    chunks = [b'{"name": "A", "short_name": "A", "kind": "company", "contact_name": "']
    chunks += [b"y" * (64 * 1024)] * 20 + [b'"}']
    status, headers, content = await _asgi_post(
        client.app, DONORS, {**admin.headers, "Content-Type": "application/json"}, chunks
    )
    assert status == 413, content
    assert headers[b"content-type"].startswith(b"application/problem+json")
    assert json.loads(content)["status"] == 413
    assert await db.fetchval("SELECT count(*) FROM donors") == 0

    # Just under the cap is fine (padded with JSON's own blanks: no field may hold a
    # megabyte of text any more, tests/test_limits.py).
    fits = json.dumps({**big, "contact_name": "x"}).encode()
    fits += b" " * (MIB - 200 - len(fits))
    response = await client.post(
        DONORS, content=fits, headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_uploads_have_their_own_larger_cap(client, db, admin) -> None:
    """A school import bigger than 1 MiB is read, not refused as too large."""
    communes = [
        r["code"]
        for r in await db.fetch("SELECT code FROM communes WHERE province_code = $1", DIEN_BIEN)
    ]
    lines = ["code,name,commune_code,address"]
    lines += [
        f"BIG{i:05d},Trường số {i},{communes[i % len(communes)]},{'Bản Mường Chà ' * 12}"
        for i in range(6000)
    ]
    data = "\n".join(lines).encode()
    assert len(data) > MIB
    response = await client.post(
        "/api/v1/schools/import",
        files={"file": ("big.csv", data, "text/csv")},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text[:500]
    assert await db.fetchval("SELECT count(*) FROM schools") == 6000


async def test_unmatched_paths_and_path_types_are_problems(client, admin) -> None:
    assert_problem(await client.get("/api/v1/schools/abc", headers=admin.headers), 404)
    assert_problem(await client.get("/api/v1/donors/1.5", headers=admin.headers), 404)
    assert_problem(await client.put(DONORS, json={}, headers=admin.headers), 405)

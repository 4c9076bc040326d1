from __future__ import annotations

from tests.factories import assert_problem


async def test_health_and_ready(client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_schema_is_served_with_bearer_security(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert "/api/v1/schools" in schema["paths"]
    viewer = await client.get("/schema")
    assert viewer.status_code == 200 and "<html" in viewer.text.lower()


async def test_every_response_carries_a_request_id(client) -> None:
    response = await client.get("/api/v1/nowhere")
    body = assert_problem(response, 404)
    assert response.headers["x-request-id"] == body["request_id"]


async def test_method_not_allowed_is_problem_json(client) -> None:
    assert_problem(await client.put("/health"), 405)

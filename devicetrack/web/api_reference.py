"""The API reference as one plain HTML page, served at /schema.

The interactive viewers (Scalar, Swagger UI) load their scripts from a CDN, so on a school's
or a province's intranet they show nothing. This page is rendered on the server from the
same OpenAPI document, with no script and nothing loaded from outside: every operation with
its parameters, body and answers, and every schema's fields. The viewers stay available at
/schema/scalar and /schema/swagger where the internet is.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

from devicetrack.web.render import env

METHODS = ("get", "post", "put", "patch", "delete")


def type_of(schema: dict[str, Any] | None) -> str:
    """A schema in a few words: a component's name, "array of X", "A | B", an enum's values."""
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " | ".join(type_of(s) for s in schema[key])
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    kind = schema.get("type", "")
    if kind == "array":
        return f"array of {type_of(schema.get('items'))}"
    if isinstance(kind, list):
        return " | ".join(kind)
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def operations(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Operations grouped by tag, in path order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = (op.get("requestBody") or {}).get("content", {})
            entry = {
                "method": method.upper(),
                "path": path,
                "id": op.get("operationId", f"{method}-{path}"),
                "summary": op.get("summary") or "",
                "description": op.get("description") or "",
                "parameters": [
                    {
                        "name": p.get("name"),
                        "in": p.get("in"),
                        "required": p.get("required", False),
                        "type": type_of(p.get("schema")),
                        "description": p.get("description") or "",
                    }
                    for p in op.get("parameters", [])
                ],
                "body": [(media, type_of(c.get("schema"))) for media, c in body.items()],
                "responses": [
                    (
                        code,
                        r.get("description") or "",
                        ", ".join(type_of(c.get("schema")) for c in r.get("content", {}).values()),
                    )
                    for code, r in op.get("responses", {}).items()
                ],
            }
            for tag in op.get("tags") or ["other"]:
                groups.setdefault(tag, []).append(entry)
    return groups


def schemas(document: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        out.append(
            {
                "name": name,
                "description": schema.get("description") or "",
                "fields": [
                    (field, type_of(spec), field in required)
                    for field, spec in schema.get("properties", {}).items()
                ],
                "type": "" if schema.get("properties") else type_of(schema),
            }
        )
    return out


class ApiReferencePlugin(OpenAPIRenderPlugin):
    def __init__(self, path: str | list[str] = "/") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        html = env.get_template("api_reference.html").render(
            info=openapi_schema.get("info", {}),
            groups=operations(openapi_schema),
            schemas=schemas(openapi_schema),
            json_url=self.get_openapi_json_route(request),
        )
        return html.encode()

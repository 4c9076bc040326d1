"""The API reference at /schema works offline: plain HTML from the OpenAPI document."""

from __future__ import annotations

import re


async def test_the_reference_lists_every_operation_and_loads_nothing_from_outside(
    client,
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    page = await client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    # Every operation of the document has its section.
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(ids) > 50
    for operation_id in ids:
        assert f'id="{operation_id}"' in html, operation_id
    assert 'id="schema-DeviceRead"' in html and "<code>asset_tag</code>" in html
    # No script and no address outside the app.
    assert "<script" not in html
    assert not re.search(r'(src|href)="https?://', html)
    # The interactive viewers are still there, for those with the internet.
    for viewer in ("/schema/scalar", "/schema/swagger"):
        assert (await client.get(viewer)).status_code == 200, viewer

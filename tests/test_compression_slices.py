"""A big answer is compressed a slice at a time with the event loop handed back between
slices (devicetrack/compression.py): the bytes that arrive decompress to the answer, in
brotli and gzip alike, and no slice is bigger than SLICE_BYTES. Small answers keep their
Content-Length."""

from __future__ import annotations

import asyncio
import gzip
import random
from typing import Any

import brotli
import pytest
from litestar.types import Message, Receive, Scope, Send

from devicetrack.compression import SLICE_BYTES, SelectiveCompression, compression_config
from devicetrack.config import Settings


def _body(size: int) -> bytes:
    """CSV-like text that compresses as an export does (not all one byte)."""
    rng = random.Random(7)
    line = "DX{:09d},tablet,Samsung,Galaxy Tab A9,SN{},in_stock,good\n"
    text = "".join(line.format(i, rng.randrange(10**9)) for i in range(size // 50 + 1))
    return text.encode()[:size]


async def _serve(body: bytes, encoding: str) -> tuple[list[Message], int]:
    """The app answers `body` in one message through the compression middleware; return
    what went to the server and how many times the loop ran something else meanwhile."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/csv; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    config = compression_config(Settings(compress_min_bytes=500))
    assert config is not None
    middleware = SelectiveCompression(app=app, config=config)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    turns = 0
    finished = False

    async def other_work() -> None:
        nonlocal turns
        while not finished:
            turns += 1
            await asyncio.sleep(0)

    scope: Any = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"accept-encoding", encoding.encode())],
        "state": {},
    }
    ticker = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    before = turns
    await middleware(scope, receive, send)
    finished = True
    await ticker
    return sent, turns - before


def _decompress(encoding: str, data: bytes) -> bytes:
    return brotli.decompress(data) if encoding == "br" else gzip.decompress(data)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_a_big_answer_is_compressed_in_slices_and_arrives_whole(encoding: str) -> None:
    body = _body(1_700_000)  # the size of the answer to a 100,000-device upload
    sent, turns = await _serve(body, encoding)
    start, *bodies = sent
    headers = dict(start["headers"])
    assert headers[b"content-encoding"] == encoding.encode()
    assert b"content-length" not in headers  # streamed
    assert len(bodies) >= len(body) // SLICE_BYTES
    assert [m.get("more_body") for m in bodies][-1] is False
    assert all(m.get("more_body") for m in bodies[:-1])
    assert _decompress(encoding, b"".join(m["body"] for m in bodies)) == body
    # The loop ran other work between the slices.
    assert turns >= len(body) // SLICE_BYTES - 1, turns


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_a_small_answer_is_compressed_whole_with_its_length(encoding: str) -> None:
    body = _body(SLICE_BYTES // 2)
    sent, _ = await _serve(body, encoding)
    start, only = sent
    headers = dict(start["headers"])
    assert headers[b"content-encoding"] == encoding.encode()
    assert int(headers[b"content-length"]) == len(only["body"])
    assert _decompress(encoding, only["body"]) == body

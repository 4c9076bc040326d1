"""The app on a real uvicorn server in a process of its own, for tests that measure what a
client sees (latency, memory) without the test's own work sharing the server's loop."""

from __future__ import annotations

import multiprocessing
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from devicetrack.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(settings: Settings, port: int) -> None:
    import uvicorn

    from devicetrack.app import create_app

    uvicorn.run(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )


@dataclass
class LiveServer:
    url: str
    pid: int

    def rss_mb(self) -> float:
        """The server process's resident memory, from /proc."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """`create_app(settings)` served by uvicorn on 127.0.0.1 in a spawned process."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(settings, port), daemon=True
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # importing the app takes seconds on a busy box
        while True:
            assert process.is_alive(), "the live server died while starting"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the live server did not start"
            time.sleep(0.1)
        assert process.pid is not None
        yield LiveServer(url=url, pid=process.pid)
    finally:
        process.terminate()
        process.join(10)
        if process.is_alive():  # a loop held by a request does not see SIGTERM in time
            process.kill()
            process.join(5)

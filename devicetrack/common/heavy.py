"""At most N heavy jobs at once in this process: exports (CSV and XLSX) and label sheets,
the files among them written by worker processes (common/processes.py).

Each of them keeps a core busy for seconds, and the box has two. Without a limit, four
exports in parallel pushed a device lookup to 11.8 s; with it, a request beyond the limit
waits a moment for a slot and is then refused with 429 and `Retry-After`, so lookups and
pages stay fast. The limit is per process (`DEVICETRACK_HEAVY_WORK_LIMIT`, default 2; the
wait `DEVICETRACK_HEAVY_WORK_WAIT_SECONDS`, default 2)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import IO, Any

from litestar import Request
from litestar.datastructures import State

from devicetrack.common import processes
from devicetrack.errors import TooManyRequests
from devicetrack.i18n import N_

# What a refused caller is told to wait: about what one large export takes.
RETRY_AFTER_SECONDS = 5


class Busy(TooManyRequests):
    title = N_("Too many exports at once")


class HeavyWork:
    def __init__(self, limit: int, wait_seconds: float, statement_timeout_ms: int = 0) -> None:
        self.limit = max(1, limit)
        self.wait_seconds = max(0.0, wait_seconds)
        # For the workers' own database connections (exports that read rows themselves).
        self.statement_timeout_ms = statement_timeout_ms
        self._slots = asyncio.Semaphore(self.limit)

    async def acquire(self) -> None:
        """Take a slot, waiting up to `wait_seconds` for one; Busy (429) after that."""
        if not self._slots.locked():
            await self._slots.acquire()  # free: returns at once
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_seconds or 0.001)
        except TimeoutError:
            raise Busy(
                N_(
                    "The server is already making {limit} exports or label sheets; "
                    "try again in {seconds} seconds."
                ),
                extra={"retry_after_seconds": RETRY_AFTER_SECONDS, "limit": self.limit},
                limit=self.limit,
                seconds=RETRY_AFTER_SECONDS,
            ) from None

    def release(self) -> None:
        self._slots.release()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def file(
        self, suffix: str, job: Callable[..., object], *args: Any, **kwargs: Any
    ) -> IO[bytes]:
        """Within a slot, run `job(path, *args, **kwargs)` in a worker process, and return
        the file it wrote, open, its name already gone: the disk space returns when it is
        closed, whatever happens to the request. A request that goes away leaves the worker
        to finish; its file is removed then."""
        async with self.slot():
            directory = tempfile.mkdtemp(prefix="devicetrack-")
            path = os.path.join(directory, "out" + suffix)
            done = asyncio.ensure_future(processes.run(self.limit, job, path, *args, **kwargs))
            try:
                await asyncio.shield(done)
                return await asyncio.to_thread(open, path, "rb")
            finally:
                if done.done():
                    shutil.rmtree(directory, ignore_errors=True)
                else:
                    done.add_done_callback(lambda _: shutil.rmtree(directory, ignore_errors=True))

    def holding(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """A response body that keeps an already acquired slot until it is sent, fails, is
        cancelled by a disconnect, or is dropped without ever being started."""
        return _Held(stream, self.release)

    @property
    def in_use(self) -> int:
        return self.limit - self._slots._value


class _Held:
    def __init__(self, stream: AsyncIterator[bytes], release: Callable[[], None]) -> None:
        self._stream = stream
        # Runs at most once: when the stream ends, or when this object is collected (a
        # response that was never sent, so its generator never ran its `finally`).
        self._release = weakref.finalize(self, release)

    def __aiter__(self) -> _Held:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._stream.__anext__()
        except BaseException:
            self._release()
            raise


def heavy_work(request: Request[Any, Any, Any]) -> HeavyWork:
    return heavy_work_of(request.app.state)


def heavy_work_of(state: State) -> HeavyWork:
    """The process's limiter, made on first use from the app's settings."""
    limiter: HeavyWork | None = state.get("heavy_work")
    if limiter is None:
        settings = state.settings
        limiter = HeavyWork(
            settings.heavy_work_limit,
            settings.heavy_work_wait_seconds,
            settings.statement_timeout_ms,
        )
        state["heavy_work"] = limiter
    return limiter

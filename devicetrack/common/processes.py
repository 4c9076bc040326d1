"""Heavy work in worker processes of low priority: XLSX exports and label sheets.

A worker *thread* was not enough. Measured on the 2-core box under load (tests/
test_export_safety.py's real server): with the writer in a thread of the server process,
/health took up to 0.6–1.1 s while three exports ran. The event loop itself was free (a
watchdog saw no callback run long); it waited for the interpreter lock, held by writer
threads that the busy machine had preempted. A process has its own interpreter lock, and
running at `nice` 10 it only takes the CPU that requests do not need.

The pool starts lazily (spawned, not forked: the server's threads and connections stay
out of the children), keeps `heavy_work_limit` workers, and hands each worker at most
MAX_TASKS_PER_CHILD jobs so a worker's memory returns to the system regularly. Jobs are
module-level functions taking plain values; they write into a file the caller named.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")
NICE = 10
MAX_TASKS_PER_CHILD = 50

_pool: ProcessPoolExecutor | None = None
_size = 0
_watching = False


def _call(parent: int, job: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """A job in a worker. The worker outlives nothing: when the server process is gone
    (killed, restarted), it ends too instead of lingering with the server's files open."""
    global _watching
    if not _watching:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
        _watching = True
    return job(*args, **kwargs)


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def shutdown() -> None:
    """Stop the workers (the app's shutdown)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _executor(size: int) -> ProcessPoolExecutor:
    global _pool, _size
    if _pool is None or size > _size:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ProcessPoolExecutor(
            max_workers=size,
            mp_context=multiprocessing.get_context("spawn"),
            # os.nice itself, so the worker is niced before it imports anything of ours.
            initializer=os.nice,
            initargs=(NICE,),
            max_tasks_per_child=MAX_TASKS_PER_CHILD,
        )
        _size = size
    return _pool


async def run(size: int, job: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `job(*args, **kwargs)` in a worker process; `size` is how many workers the
    pool should have (the process's heavy-work limit)."""
    global _pool
    executor = _executor(max(1, size))
    try:
        # Submitted from a thread: a submit may start a worker (spawning a process takes a
        # moment), and that moment must not be the event loop's.
        future = await asyncio.to_thread(
            executor.submit, partial(_call, os.getpid(), job, args, kwargs)
        )
        return await asyncio.wrap_future(future)
    except BrokenProcessPool:
        # A worker died (killed, out of memory): the next job gets a fresh pool.
        if _pool is executor:
            _pool = None
        raise

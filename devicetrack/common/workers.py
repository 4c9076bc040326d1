"""CPU-heavy request work (parsing and checking uploaded tables) in worker threads.

Never on the event loop: a 60 MB CSV parsed there held every other request for 14 s. A
few at once per process (`Settings.upload_workers`); the rest wait their turn, so a burst
of uploads queues instead of multiplying the memory it needs.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import gc
import sys
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")
RELEASE_SLICE = 5000

_slots = 2
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


# How long a thread may keep the interpreter while another waits for it (Python's default
# is 5 ms). A worker parsing an upload holds it almost all the time, and each request the
# loop answers meanwhile needs it back several times: at 1 ms, /health's 99th percentile
# under a 100,000-row upload fell from 60-74 ms to 39-51 ms on the 2-core test machine.
SWITCH_INTERVAL = 0.001


def configure(slots: int) -> None:
    """Set how many jobs run at once (create_app calls this from the settings)."""
    global _slots
    _slots = max(1, slots)
    _limiters.clear()
    sys.setswitchinterval(SWITCH_INTERVAL)


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(_slots)
    return limiter


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` in a worker thread, at most `upload_workers` at once."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=_limiter())


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None
    return trim


def _trim() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


async def release(*lists: list[Any]) -> None:
    """Empty big lists a slice at a time, handing the event loop back between slices.
    Freeing 100,000 rows at once (when the last reference goes, at the end of a request)
    is one uninterrupted stretch of C that held every request for 0.1 s."""
    for items in lists:
        while items:
            del items[-RELEASE_SLICE:]
            await asyncio.sleep(0)


async def release_memory() -> None:
    """After a big upload is answered: give the freed heap back to the system. glibc keeps
    freed memory for reuse, so without this a 60 MB CSV left the process 650 MB larger.
    (ctypes releases the GIL during the call; the thread keeps the loop free anyway.)"""
    await anyio.to_thread.run_sync(_trim)


def freeze_startup_heap() -> None:
    """On start-up: what is alive once the app has started (modules, routes, metadata) lives
    as long as the process, so move it out of the garbage collector's sight. A full
    collection then scans only what requests made since: before, one came during a big
    upload and scanned everything for 0.9 s, with the interpreter held for all threads."""
    gc.collect()
    gc.freeze()

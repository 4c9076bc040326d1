"""Where a request's time went, by phase, for the `Server-Timing` header of the bulk routes
(bulk intake: body, parse, validate, db). A request opens a `Phases` and the code it calls
times its steps with `phase(name)`; with none open, timing costs nothing and goes nowhere.
Only the time between two awaits of the request's own task is counted, so phases that
overlap (a chunk parsed in a thread while the previous one is written) are timed where
they are awaited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[Phases | None] = ContextVar("phases", default=None)


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def header(self) -> str:
        """The `Server-Timing` value: `parse;dur=812.3, db;dur=1710.0` (milliseconds)."""
        return ", ".join(f"{name};dur={s * 1000:.1f}" for name, s in self.seconds.items())

    @contextmanager
    def opened(self) -> Iterator[Phases]:
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


@contextmanager
def phase(name: str) -> Iterator[None]:
    phases = _current.get()
    if phases is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        phases.add(name, time.perf_counter() - started)

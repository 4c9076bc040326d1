"""Reads from a streaming replica (DEVICETRACK_REPLICA_URL), decided here and nowhere else.

A request reads the replica when all of these hold:
- it is a read (GET/HEAD) of a route marked lag-tolerant (common/lag_tolerant.py:
  reports, dashboards, exports, lists);
- its caller wrote nothing in the last `replica_fresh_seconds`: every write answers with a
  short-lived cookie (WROTE_COOKIE) holding its time, so the page after a form post, or an
  API client's read after its own write, is served by the primary (read your writes);
- the replica is usable: it answered the last check, lags at most
  `replica_max_lag_seconds`, and has not failed in the last `replica_retry_seconds`.

Everything else, every write included, uses the primary. When the replica cannot be
reached, the read falls back to the primary at once; when it fails during a read (it was
stopped, or a recovery conflict cancelled the query) before the answer began, the request is
run again on the primary (`middleware`). Either way the caller sees no error, the fallback
is logged, and the replica is left alone for `replica_retry_seconds` (a circuit breaker, so
requests do not each wait for a connection timeout) unless the background check finds it
well again first."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar import Litestar, Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.common.lag_tolerant import OPT_KEY
from devicetrack.config import Settings
from devicetrack.db.engine import replica_engine

log = logging.getLogger("devicetrack.replica")

STATE_KEY = "replica"
WROTE_COOKIE = "dt_wrote"
READS = frozenset({"GET", "HEAD"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Set in the request's scope: the replica failed during this request (retry it), and this
# request runs on the primary only (the retry).
_FAILED = "replica_failed"
_PRIMARY_ONLY = "replica_primary_only"
# Errors after which the read runs again on the primary while the replica stays in use:
# recovery conflicts cancel a standby's query (40001) or deadlock it on a buffer pin
# (40P01); 25006 is a write attempted on the replica (a route marked lag-tolerant that
# writes: a bug, logged as such).
_CONFLICTS = frozenset({"40001", "40P01"})
_READ_ONLY = "25006"
# The replica itself failing: no SQLSTATE at all (the connection broke), a connection
# exception (08), too many connections or out of resources (53), shutting down or not yet
# accepting connections (57P01-57P03). Anything else (a statement timeout, bad data) would
# fail on the primary the same way and is answered as it is.
_UNWELL_CLASSES = ("08", "53", "57P")

_LAG_SQL = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)"
    " END::float8"
)


@dataclass
class ReplicaStatus:
    """What /health shows: whether reads go to the replica now, and why not."""

    status: str  # "ok", "lagging" (reads on the primary) or "unavailable"
    lag_seconds: float | None
    checked_seconds_ago: float | None
    error: str | None


class Replica:
    """The replica's engine and this process's view of it."""

    def __init__(self, settings: Settings) -> None:
        assert settings.replica_url
        self.settings = settings
        self.engine: AsyncEngine = replica_engine(settings.replica_url, settings)
        # The background check has its own connection, so it neither waits for nor takes
        # one the reads need (and pg_stat_activity tells the two apart).
        self.check_engine = replica_engine(settings.replica_url, settings, check=True)
        self.lag: float | None = None
        self.checked_at: float | None = None
        self.down_until = 0.0
        self.error: str | None = None
        # It failed since it last answered a check.
        self.broken = False
        self._monitor: asyncio.Task[None] | None = None

    # ---- the breaker -------------------------------------------------------------------

    def usable(self) -> bool:
        if time.monotonic() < self.down_until:
            return False
        return self.lag is None or self.lag <= self.settings.replica_max_lag_seconds

    def failed(self, exc: BaseException, during: str) -> None:
        """Leave the replica alone for a while; logged once per outage, not per request.
        The log has the whole error; /health (answered to anyone) only its kind and
        SQLSTATE: the text can name the replica's address, its user, or a read's SQL and
        parameters."""
        first = time.monotonic() >= self.down_until
        self.broken = True
        self.down_until = time.monotonic() + self.settings.replica_retry_seconds
        self.error = _kind_of(exc)
        if first:
            log.warning(
                "replica unavailable (%s): reads go to the primary for %.0f s: %s",
                during,
                self.settings.replica_retry_seconds,
                f"{type(exc).__name__}: {exc}"[:300],
            )

    def status(self) -> ReplicaStatus:
        now = time.monotonic()
        ago = None if self.checked_at is None else round(now - self.checked_at, 1)
        lag = None if self.lag is None else round(self.lag, 2)
        if now < self.down_until:
            return ReplicaStatus("unavailable", lag, ago, self.error)
        if lag is not None and lag > self.settings.replica_max_lag_seconds:
            return ReplicaStatus("lagging", lag, ago, None)
        return ReplicaStatus("ok", lag, ago, None)

    # ---- the background check ----------------------------------------------------------

    async def check(self) -> None:
        """The replica's replay lag in seconds (0 when it has replayed all it received)."""
        try:
            async with asyncio.timeout(max(2.0, self.settings.replica_check_seconds)):
                async with self.check_engine.connect() as conn:
                    lag = float((await conn.execute(_LAG_SQL)).scalar_one())
        except Exception as exc:  # any failure means: not usable for now
            self.failed(exc, "check")
            # Its connection may be dead (a restarted replica): the next check opens anew.
            await self.check_engine.dispose()
            return
        if self.broken:
            # Connections pooled before the failure may be dead: drop them all, so reads
            # open new ones instead of failing on them one by one.
            await self.engine.dispose()
            self.broken = False
            log.info("replica reachable again (lag %.1f s): reads go back to it", lag)
        self.lag, self.checked_at, self.down_until, self.error = lag, time.monotonic(), 0.0, None

    async def _watch(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.settings.replica_check_seconds)

    async def start(self) -> None:
        await self.check()
        self._monitor = asyncio.create_task(self._watch(), name="replica-check")

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        await self.engine.dispose()
        await self.check_engine.dispose()


# ---- the routing decision --------------------------------------------------------------


def replica_of(app: Litestar) -> Replica | None:
    replica: Replica | None = app.state.get(STATE_KEY)
    return replica


def wrote_recently(request: Request[Any, Any, Any], fresh_seconds: float) -> bool:
    value = request.cookies.get(WROTE_COOKIE)
    if not value:
        return False
    try:
        return time.time() - float(value) < fresh_seconds
    except ValueError:
        return False


def reads_replica(request: Request[Any, Any, Any]) -> Replica | None:
    """The replica, if this request should read from it (see the module's docstring)."""
    replica = replica_of(request.app)
    if replica is None or request.method not in READS:
        return None
    if not request.route_handler.opt.get(OPT_KEY):
        return None
    state = request.scope.setdefault("state", {})
    if state.get(_PRIMARY_ONLY):
        return None
    if wrote_recently(request, replica.settings.replica_fresh_seconds):
        return None
    return replica if replica.usable() else None


def _sqlstate(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        code = getattr(seen, "sqlstate", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def _kind_of(exc: BaseException) -> str:
    """What went wrong, without a word of the error's text: the driver's exception class
    (under SQLAlchemy's wrapper) and its SQLSTATE, if any."""
    inner = getattr(exc, "orig", None) or exc
    code = _sqlstate(exc)
    return type(inner).__name__ + (f" ({code})" if code else "")


def _is_database_failure(exc: BaseException) -> bool:
    """Whether exc came from the database connection (not a refusal of the request)."""
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError | asyncpg.PostgresError | asyncpg.InterfaceError | OSError)


def _note_failure(request: Request[Any, Any, Any], replica: Replica, exc: BaseException) -> None:
    """A read on the replica raised. If the replica (not the request) was at fault, mark
    the request to run again on the primary (the middleware does it), and leave the replica
    alone for a while unless it merely lost a race with replay."""
    if not _is_database_failure(exc):
        return
    code = _sqlstate(exc)
    if code in _CONFLICTS:
        log.info("replica cancelled a read (recovery conflict %s): retried on the primary", code)
    elif code == _READ_ONLY:
        log.error("%s writes: it must not be marked lag-tolerant", request.url.path)
    elif code is None or code.startswith(_UNWELL_CLASSES):
        replica.failed(exc, "read")
    else:
        return
    request.scope.setdefault("state", {})[_FAILED] = True


@contextlib.asynccontextmanager
async def read_session(
    request: Request[Any, Any, Any],
) -> AsyncIterator[AsyncSession | None]:
    """A session on the replica in autocommit for this read, or None (use the primary)."""
    replica = reads_replica(request)
    if replica is None:
        yield None
        return
    session = AsyncSession(bind=replica.engine, expire_on_commit=False, autoflush=False)
    try:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    except Exception as exc:
        await session.close()
        replica.failed(exc, "connect")
        yield None
        return
    try:
        yield session
    except BaseException as exc:
        _note_failure(request, replica, exc)
        raise
    finally:
        await session.close()


@contextlib.asynccontextmanager
async def read_engine(
    request: Request[Any, Any, Any], primary: AsyncEngine
) -> AsyncIterator[AsyncEngine]:
    """The engine a handler that opens its own connections (exports) should use."""
    replica = reads_replica(request)
    if replica is None:
        yield primary
        return
    try:
        async with asyncio.timeout(5):
            async with replica.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        replica.failed(exc, "connect")
        yield primary
        return
    try:
        yield replica.engine
    except BaseException as exc:
        _note_failure(request, replica, exc)
        raise


# ---- read your writes, and the retry on the primary --------------------------------------


def _wrote_cookie(fresh_seconds: float) -> bytes:
    return (
        f"{WROTE_COOKIE}={time.time():.3f}; Max-Age={math.ceil(fresh_seconds)}; Path=/;"
        " HttpOnly; SameSite=Lax"
    ).encode()


def middleware(app: ASGIApp) -> ASGIApp:
    """Writes answer with the read-your-writes cookie; a read whose replica failed before
    its answer began is run again, on the primary, and only the second answer is sent."""

    async def replica_middleware(scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method")
        if scope["type"] != ScopeType.HTTP or method is None:
            await app(scope, receive, send)
            return
        replica: Replica | None = scope["litestar_app"].state.get(STATE_KEY)
        if replica is None:
            await app(scope, receive, send)
            return
        if method in WRITES:
            cookie = _wrote_cookie(replica.settings.replica_fresh_seconds)

            async def send_marked(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
                await send(message)

            await app(scope, receive, send_marked)
            return
        if method not in READS:
            await app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        retry = False
        started = False

        async def send_unless_failed(message: Message) -> None:
            nonlocal retry, started
            if not started and message["type"] == "http.response.start":
                retry = bool(state.pop(_FAILED, False))
                started = True
            if not retry:
                await send(message)

        await app(scope, receive, send_unless_failed)
        if retry:
            log.warning(
                "%s %s: the replica failed; answered from the primary",
                method,
                scope["path"],
            )
            state[_PRIMARY_ONLY] = True
            await app(scope, receive, send)

    return replica_middleware


def lifespan_hooks(settings: Settings) -> tuple[Any, Any]:
    async def open_replica(app: Litestar) -> None:
        if settings.replica_url:
            replica = Replica(settings)
            app.state[STATE_KEY] = replica
            await replica.start()

    async def close_replica(app: Litestar) -> None:
        replica = replica_of(app)
        if replica is not None:
            await replica.stop()

    return open_replica, close_replica

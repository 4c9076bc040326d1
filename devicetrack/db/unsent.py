"""A connection that asyncpg left in the middle of a statement is closed, never pooled.

asyncpg runs a statement that a connection has not prepared yet in two exchanges: Parse,
Describe and Flush (no Sync), then Bind, Execute and Sync. It encodes the arguments between
the two, and when one does not fit its type (an id of 10**20 from a URL for an `integer`
column) it raises an error of its own making (a DataError with no server fields, or an
InterfaceError for a wrong number of arguments) without sending the second exchange. The
server is then still inside the first one: `active`, waiting on ClientRead, in an implicit
transaction that holds an ACCESS SHARE lock on every table the statement reads. In
autocommit, as every GET's reads run (dependencies.provide_transaction), nothing else is
sent: the pool takes the connection back as it is, and a TRUNCATE, ALTER TABLE or VACUUM
FULL of those tables, and every query queued behind its lock, waits until that connection
happens to run its next statement, which on a quiet pool can be hours (the test suite's
reset between tests waited forever). A statement the connection had prepared before skips
the Parse and leaves nothing open, so whether a given bad request leaks depends on which
pooled connection serves it.

The driver's behaviour is MagicStack/asyncpg#1276 (prepare ends in Flush, not Sync). Here
SQLAlchemy treats such an error as a lost connection: that one connection is closed, which
ends the server's transaction and its locks at once, and the pool opens a new one when it
needs it. The error itself still reaches the handler (errors.database_error_kind answers
422). A bad value costs one reconnect."""

from __future__ import annotations

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine


def close_unfinished(engine: AsyncEngine) -> AsyncEngine:
    """Have `engine` close a connection on an error asyncpg raised before sending its
    statement whole (above)."""
    event.listen(engine.sync_engine, "handle_error", _close_if_unsent)
    return engine


def _close_if_unsent(context: ExceptionContext) -> None:
    if context.is_disconnect or not _raised_by_driver_itself(context.original_exception):
        return
    context.is_disconnect = True
    # Only this connection: the others are fine, and closing them would fail their requests.
    context.invalidate_pool_on_disconnect = False


def _raised_by_driver_itself(exc: BaseException | None) -> bool:
    """Whether asyncpg made exc on its own side rather than relaying an error of the
    server's, which it receives only after the Sync that ends the exchange. Its encoding
    errors are of the server's class for SQLSTATE 22000 (DataError) but carry none of the
    fields every ErrorResponse has (the severity first); misuse is an InterfaceError.
    SQLAlchemy's adapter raises its own class `from` asyncpg's."""
    for _ in range(3):
        if exc is None:
            return False
        if isinstance(exc, asyncpg.InterfaceError):
            return True
        if isinstance(exc, asyncpg.PostgresError):
            return getattr(exc, "severity", None) is None
        exc = exc.__cause__
    return False

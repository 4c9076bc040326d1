"""Opaque keyset cursors: the client sees a token, the query sees `id > last_id`."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence, Sized
from typing import Annotated, Any, TypeVar

from litestar.params import Parameter

from devicetrack.errors import INTEGER_MAX, FieldError, ValidationFailed
from devicetrack.i18n import N_

T = TypeVar("T")

Limit = Annotated[int, Parameter(ge=1, le=1000, description="Page size (max 1000)")]
Cursor = Annotated[
    str | None, Parameter(description="Opaque cursor from a previous page's next_cursor")
]


# The largest id a cursor can carry: PostgreSQL `integer`, the type of most id columns.
MAX_ID = INTEGER_MAX


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, value = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 1)
        if version != "v1":
            raise ValueError(version)
        last_id = int(value)
        # Ids this server issues are positive and fit the id columns; anything else would
        # only fail later in the database driver (a 500 instead of a 4xx).
        if not 0 <= last_id <= MAX_ID:
            raise ValueError(value)
        return last_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid() from exc


def encode_position(*parts: object) -> str:
    """A cursor for a list ordered by more than an id (a date, then an id)."""
    text = "|".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(f"v2:{text}".encode()).decode().rstrip("=")


def decode_position(
    cursor: str | None, parse: Callable[[list[str]], T], field: str = "cursor"
) -> T | None:
    """The position `encode_position` wrote, read back by `parse` (which raises ValueError
    on anything it does not expect); a cursor this server did not issue is refused, naming
    the parameter `field` that carried it."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, value = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 1)
        if version != "v2":
            raise ValueError(version)
        return parse(value.split("|"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(field) from exc


def _offset(parts: list[str]) -> int:
    """A row's position in a list, as an offset cursor carries it (ValueError if not)."""
    (text,) = parts
    offset = int(text)
    if not 0 <= offset <= MAX_ID:
        raise ValueError(text)
    return offset


def encode_offset(offset: int) -> str:
    """A cursor for a list paged by position: a sorted report whose order (a ratio, a
    count) no key can resume. Rows may shift between pages while the figures change."""
    return encode_position(offset)


def decode_offset(cursor: str | None, field: str = "cursor") -> int:
    """The position `encode_offset` wrote (0 without a cursor); refused, naming `field`, if
    this server did not write it."""
    return decode_position(cursor, _offset, field) or 0


def _offset_or_top(start: int | None) -> int:
    """A page's first row as a link gives it (`?start=`): from the top when it is not one a
    list could have."""
    return start if start is not None and 0 <= start <= MAX_ID else 0


async def page_from_link(
    start: int | None,
    read: Callable[[int], Awaitable[T]],
    rows: Callable[[T], Sized],
) -> tuple[T, int]:
    """The page a link's `?start=` names, read by `read(offset)`, and its first row's
    offset: from the top when `start` is not one a list could have, or lies past the end
    (rows gone since the link was made: schools closed, audits done)."""
    offset = _offset_or_top(start)
    found = await read(offset)
    if offset and not len(rows(found)):
        offset = 0
        found = await read(offset)
    return found, offset


def _invalid(field: str = "cursor") -> ValidationFailed:
    return ValidationFailed(
        N_("The cursor is not one this server issued."),
        errors=[FieldError(field=field, message=N_("invalid cursor"))],
    )


def page_of(rows: Sequence[T], limit: int, key: Any = lambda r: r.id) -> tuple[list[T], str | None]:
    """Split a result fetched with limit + 1 rows into the page and the next cursor."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor

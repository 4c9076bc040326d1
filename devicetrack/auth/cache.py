"""A short-lived in-process cache of resolved credentials.

Resolving a token is one query per request, and on the hot lookup path that query costs as
much as the lookup itself. Entries live a few seconds; changes to a user made in this
process (deactivation, password, schools) or a revoked API key drop them at once, and
other processes see the change within the TTL (DEVICETRACK_AUTH_CACHE_SECONDS, 0 turns the
cache off)."""

from __future__ import annotations

import time

from devicetrack.auth.principal import Principal

_entries: dict[str, tuple[float, Principal]] = {}
_MAX_ENTRIES = 10_000


def get(digest: str) -> Principal | None:
    entry = _entries.get(digest)
    if entry is None:
        return None
    expires, principal = entry
    if expires < time.monotonic():
        _entries.pop(digest, None)
        return None
    return principal


def put(digest: str, principal: Principal, ttl: float) -> None:
    if ttl <= 0:
        return
    if len(_entries) >= _MAX_ENTRIES:
        _entries.clear()
    _entries[digest] = (time.monotonic() + ttl, principal)


def drop(digest: str) -> None:
    _entries.pop(digest, None)


def forget_user(user_id: int) -> None:
    for digest in [d for d, (_, p) in _entries.items() if p.user_id == user_id]:
        _entries.pop(digest, None)


def clear() -> None:
    _entries.clear()

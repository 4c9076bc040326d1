"""What a receiver gets: the body (Standard Webhooks' type, timestamp and data) and its
signature headers.

A device event names a student at most by the pseudonymous student code, on loans, and a
donor's subscription not even that: `view` drops every `student_code` for donors. Nothing
else about a student is ever written into a message (migration 0033's trigger)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from standardwebhooks import Webhook

STUDENT_KEYS = frozenset({"student_code"})


def _without_students(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_students(v) for k, v in value.items() if k not in STUDENT_KEYS}
    if isinstance(value, list):
        return [_without_students(v) for v in value]
    return value


def view(data: dict[str, Any], *, for_donor: bool) -> dict[str, Any]:
    return _without_students(data) if for_donor else data


def message_id(message: int) -> str:
    """The webhook-id header: the same on every try, so a receiver can drop repeats."""
    return f"msg_{message}"


def body(event_type: str, created_at: datetime, data: dict[str, Any], *, for_donor: bool) -> bytes:
    return msgspec.json.encode(
        {
            "type": event_type,
            "timestamp": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": view(data, for_donor=for_donor),
        }
    )


def signed_headers(secret: str, msg_id: str, content: bytes, now: datetime) -> dict[str, str]:
    """Standard Webhooks' three headers. `now` must be in UTC: the library's sign() replaces
    a datetime's zone with UTC instead of converting it (a Vietnamese time would be signed
    seven hours off)."""
    now = now.astimezone(UTC)
    signature = Webhook(secret).sign(msg_id, now, content.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }

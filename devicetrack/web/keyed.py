"""The `opt` of a page route the outbox (app.js) sends to: it honours Idempotency-Key as
the API does (idempotency/service.py), the key belonging to the session's user, and a
refusal is kept as the page's script was answered (problem+json in the page's language)."""

from __future__ import annotations

from typing import Any

from devicetrack.web.render import as_problem
from devicetrack.web.session import keyed_caller

KEYED: dict[str, Any] = {
    "idempotency": True,
    "idempotency_caller": keyed_caller,
    "idempotency_refusal": as_problem,
}

"""The marker of routes whose reads may come from the streaming replica.

Put it on a handler (`@get(..., opt=LAG_TOLERANT)`) or a whole controller (`opt =
LAG_TOLERANT`): reports, dashboards, exports and lists that may be a second or so behind
the latest write. Only reads are ever sent to the replica, and a caller who wrote something
a moment ago still reads from the primary; db/replica.py decides, in one place."""

from __future__ import annotations

from typing import Any

OPT_KEY = "lag_tolerant"
LAG_TOLERANT: dict[str, Any] = {OPT_KEY: True}
# For one handler inside a marked controller that must not read the replica (it writes,
# or what it shows must be the latest).
NOT_LAG_TOLERANT: dict[str, Any] = {OPT_KEY: False}

from __future__ import annotations

import msgspec


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are refused (SPEC §6)."""

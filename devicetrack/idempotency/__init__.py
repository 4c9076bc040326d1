"""Idempotency-Key (IETF httpapi draft): a repeated write answers its first answer."""

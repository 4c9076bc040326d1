"""Input limits of webhooks, defined here once (see devices/limits.py for who reads them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

URL = 2000
# Devices in one message of a device event: an intake of 100,000 devices is 200 messages
# per subscription, each ~150 KB (migration 0033's trigger holds the same number).
DEVICES_PER_MESSAGE = 500
# SIMs named in one sim.expiring message.
SIMS_PER_MESSAGE = 500
# Days before a SIM's plan ends on which sim.expiring names it.
SIM_EXPIRING_DAYS = (30, 14, 7, 1)
# Days a message, its deliveries and their tries are kept (the deliveries listing's reach).
KEEP_DAYS = 30
# Subscriptions one owner (an admin, a province, a donor) may hold.
MAX_SUBSCRIPTIONS = 20

Url = Annotated[str, msgspec.Meta(max_length=URL)]

LENGTHS: dict[tuple[str, str], int] = {("webhook_subscriptions", "url"): URL}

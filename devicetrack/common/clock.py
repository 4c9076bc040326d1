"""The application's day: the date in Vietnam, where every user of it lives.

A report's "as of", a SIM that expires today, a loan due back today and a consent given today
are Vietnamese dates; taking the UTC date instead was a day behind from 00:00 to 07:00 every
morning. Times are still stored in UTC (timestamptz); only "which day is it" is local.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

# Indochina Time: UTC+7 all year (Vietnam has no daylight saving time).
VIETNAM = timezone(timedelta(hours=7), "ICT")


def local_today() -> date:
    return datetime.now(VIETNAM).date()

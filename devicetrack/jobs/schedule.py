"""When periodic jobs run, in Vietnam's time, and which period a run belongs to.

procrastinate reads cron lines in UTC. Vietnam keeps UTC+7 all year (no daylight saving),
so a Vietnamese time is one fixed UTC time; a job before 07:00 in Vietnam runs the
previous day in UTC, which the cron line below accounts for (the day of week one back,
the first of a month becoming the last day of the one before)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, time
from enum import Enum

from devicetrack.common.clock import VIETNAM

_UTC_OFFSET_HOURS = 7


class Every(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True)
class Schedule:
    every: Every
    at: time  # Vietnam's time
    weekday: int = 0  # for Every.WEEK: 0 is Monday (as datetime.weekday())

    def utc_cron(self) -> str:
        back_a_day = self.at.hour < _UTC_OFFSET_HOURS
        minute, hour = self.at.minute, (self.at.hour - _UTC_OFFSET_HOURS) % 24
        if self.every is Every.DAY:
            return f"{minute} {hour} * * *"
        if self.every is Every.WEEK:
            cron_day = (self.weekday + 1) % 7  # cron counts from Sunday = 0
            return f"{minute} {hour} * * {(cron_day - back_a_day) % 7}"
        months = "*" if self.every is Every.MONTH else "1,4,7,10"
        if back_a_day:
            months = "*" if self.every is Every.MONTH else "3,6,9,12"
            return f"{minute} {hour} L {months} *"
        return f"{minute} {hour} 1 {months} *"

    def period(self, when: datetime) -> str:
        """The period `when` falls in, on Vietnam's calendar: 2026-12-01, 2026-W49,
        2026-12 or 2026-Q4."""
        local = when.astimezone(VIETNAM)
        if self.every is Every.DAY:
            return local.date().isoformat()
        if self.every is Every.WEEK:
            year, week, _ = local.isocalendar()
            return f"{year}-W{week:02d}"
        if self.every is Every.MONTH:
            return f"{local:%Y-%m}"
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"

    def describe(self) -> str:
        when = f"{self.at:%H:%M} Vietnam time"
        if self.every is Every.DAY:
            return f"daily at {when}"
        if self.every is Every.WEEK:
            return f"{calendar.day_name[self.weekday]}s at {when}"
        if self.every is Every.MONTH:
            return f"the 1st of each month at {when}"
        return f"the 1st of each quarter at {when}"

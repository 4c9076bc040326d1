"""The range of dates a real event of this programme can have.

A consent given in year 1, a loan due back in 9999 or a SIM plan ending in 2300 are typing
slips (or probes), not events: they would sit in reports, overdue lists and expiry alerts
for ever. Every date a user gives for something that happened or will happen (a consent, a
loan's due date, a donation received, a plan or warranty end) is checked here, one rule for
the API, the pages and the imports."""

from __future__ import annotations

from datetime import date, datetime

from devicetrack.common.clock import VIETNAM, local_today
from devicetrack.errors import FieldError, ValidationFailed
from devicetrack.i18n import N_, Message

EARLIEST = date(2000, 1, 1)
YEARS_AHEAD = 10


def latest(today: date | None = None) -> date:
    today = today or local_today()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February, ten years on, is not a day
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def out_of_range(value: date | datetime) -> str | None:
    """The message for a date outside 2000-01-01 … today + 10 years, or None."""
    if isinstance(value, datetime):
        day = value.astimezone(VIETNAM).date() if value.tzinfo else value.date()
    else:
        day = value
    last = latest()
    if EARLIEST <= day <= last:
        return None
    return Message(
        N_("must be between {first} and {last}"), first=EARLIEST.isoformat(), last=last.isoformat()
    )


def check_event_dates(**fields: date | datetime | None) -> None:
    """Refuse (422, naming each field) any given date outside the range; None is not given."""
    errors = [
        FieldError(field=name, message=problem)
        for name, value in fields.items()
        if value is not None and (problem := out_of_range(value)) is not None
    ]
    if errors:
        raise ValidationFailed(N_("A date is out of range."), errors=errors)

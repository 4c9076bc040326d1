"""The application's day is Vietnam's date, whatever the server's clock zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from devicetrack.common import clock


class _FrozenClock(datetime):
    instant = datetime(2026, 11, 23, 18, 31, tzinfo=UTC)  # 01:31 on the 24th in Vietnam

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        return cls.instant.astimezone(tz) if tz else cls.instant.replace(tzinfo=None)


def test_after_five_pm_utc_it_is_already_tomorrow_in_vietnam(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock, "datetime", _FrozenClock)
    assert clock.local_today() == date(2026, 11, 24)
    _FrozenClock.instant = datetime(2026, 11, 23, 16, 59, tzinfo=UTC)  # 23:59 in Vietnam
    assert clock.local_today() == date(2026, 11, 23)


async def test_reports_are_as_of_vietnams_date(client, factory) -> None:
    officer = await factory.officer()
    response = await client.get("/api/v1/reports/coverage", headers=officer.headers)
    assert response.status_code == 200, response.text
    assert response.json()["as_of"] == datetime.now(clock.VIETNAM).date().isoformat()

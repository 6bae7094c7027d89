"""Mute and quiet hours: when a held alert may go, across midnight and time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.formatting import utc_offset
from bot.hold import hold_until, in_window, quiet_until

NIGHT = (23 * 60, 7 * 60)  # 23:00-07:00


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 25, hour, minute, tzinfo=UTC)


def test_windows_may_wrap_midnight() -> None:
    assert in_window(23 * 60 + 30, *NIGHT) and in_window(60, *NIGHT)
    assert not in_window(12 * 60, *NIGHT) and not in_window(7 * 60, *NIGHT)
    assert in_window(13 * 60, 12 * 60, 14 * 60) and not in_window(14 * 60, 12 * 60, 14 * 60)
    assert not in_window(0, 0, 0)  # an empty window holds nothing


def test_quiet_hours_end_in_the_chats_timezone() -> None:
    # 16:00 UTC is 00:00 in Shanghai: quiet until 07:00 Shanghai = 23:00 UTC.
    assert quiet_until(at(16), "Asia/Shanghai", *NIGHT) == at(23)
    assert quiet_until(at(23, 30), "UTC", *NIGHT) == at(7) + timedelta(days=1)
    assert quiet_until(at(12), "Asia/Shanghai", *NIGHT) is None  # 20:00 there


def test_mute_and_quiet_hours_combine_to_the_later_end() -> None:
    assert hold_until(at(10), "UTC", None, None) is None
    assert hold_until(at(10), "UTC", at(12), None) == at(12)
    assert hold_until(at(10), "UTC", at(9), None) is None  # the mute is over
    # Muted until 23:30, which is inside the night window: held until 07:00.
    assert hold_until(at(10), "UTC", at(23, 30), NIGHT) == at(7) + timedelta(days=1)


def test_an_unknown_zone_falls_back_to_utc() -> None:
    assert quiet_until(at(23, 30), "Mars/Olympus", *NIGHT) == at(7) + timedelta(days=1)


def test_times_show_an_unambiguous_offset() -> None:
    from zoneinfo import ZoneInfo

    assert utc_offset(at(1)) == "UTC"
    assert utc_offset(at(1).astimezone(ZoneInfo("Asia/Shanghai"))) == "UTC+8"
    assert utc_offset(at(1).astimezone(ZoneInfo("Asia/Kolkata"))) == "UTC+5:30"
    assert utc_offset(at(1).astimezone(ZoneInfo("America/New_York"))) == "UTC-5"

"""When an alert must wait for its reader: a /mute, or /quiet hours in the chat's timezone.

Held alerts are not dropped: the outbox row is handed back with a due time
at the end of the mute or the quiet window, so they arrive then, in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60


def zone(name: str) -> ZoneInfo:
    """The chat's zone; an unknown name (a removed tz database entry) falls back to UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_window(minute: int, start: int, end: int) -> bool:
    """Is `minute` (after local midnight) inside [start, end), a window that may wrap midnight?"""
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def quiet_until(now: datetime, tz: str, start: int, end: int) -> datetime | None:
    """The end of the quiet window `now` falls in (aware UTC-comparable), or None."""
    local = now.astimezone(zone(tz))
    minute = local.hour * 60 + local.minute
    if not in_window(minute, start, end):
        return None
    ahead = (end - minute) % MINUTES_PER_DAY
    # Aware arithmetic in a ZoneInfo zone is wall-clock time, so 07:00 stays 07:00 across DST.
    return (local + timedelta(minutes=ahead)).replace(second=0, microsecond=0)


def hold_until(
    now: datetime, tz: str, muted_until: datetime | None, quiet: tuple[int, int] | None
) -> datetime | None:
    """When a held alert may go (the later of the mute's end and the quiet window's), or None."""
    ends: list[datetime] = []
    if muted_until is not None and muted_until > now:
        ends.append(muted_until)
    if quiet is not None:
        window_end = quiet_until(max([now, *ends]), tz, *quiet)
        if window_end is not None:
            ends.append(window_end)
    return max(ends) if ends else None

"""Dates as pages write them: 2021-09-24, 2021年9月24日 17:10, ISO 8601, Jun 15, 2024.

A date without a zone is read in the site's zone: Beijing time (UTC+8, no
daylight saving) for Chinese sources, else UTC. Nonsense (month 13, the
year 1900) is no date, so a page never gets a wrong one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

BEIJING = timezone(timedelta(hours=8), "CST")
_NUMERIC = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:：时]\s*(\d{2})(?:\s*[:：分]\s*(\d{2}))?)?"
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_NAMED = re.compile(
    r"\b(?:(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})"  # 15 June 2024
    r"|([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4}))\b"  # June 15, 2024
)
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\s*$")


def zone_for(lang: str | None) -> tzinfo:
    return BEIJING if lang == "zh" else UTC


def _make(
    year: int, month: int, day: int, hour: int, minute: int, second: int, zone: tzinfo
) -> datetime | None:
    if not 1990 <= year <= 2100:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def parse_date(text: str | None, zone: tzinfo = UTC) -> datetime | None:
    """The first date in `text`, aware (in `zone` when it names none), or None."""
    if not text:
        return None
    if _ISO.match(text):
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            parsed = None
        if parsed is not None and 1990 <= parsed.year <= 2100:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    match = _NUMERIC.search(text)
    if match:
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        if hour > 23 or minute > 59 or second > 59:
            hour = minute = second = 0
        found = _make(year, month, day, hour, minute, second, zone)
        if found:
            return found
    named = _NAMED.search(text)
    if named:
        day1, month1, year1, month2, day2, year2 = named.groups()
        month_name = (month1 or month2 or "").lower()
        if month_name in _MONTHS:
            day = int(day1 or day2)
            return _make(int(year1 or year2), _MONTHS[month_name], day, 0, 0, 0, zone)
    return None

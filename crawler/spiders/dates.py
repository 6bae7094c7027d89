"""Dates as pages write them: 2021-09-24, 2021年9月24日 17:10, ISO 8601, June 15th, 2024,
RFC 2822 (Sat, 15 Jun 2024 09:30:00 GMT), and relative ones (2小时前, 昨天 17:10, 3 days ago).

A date without a zone is read in the site's zone: Beijing time (UTC+8, no
daylight saving) for Chinese sources, else UTC; one that names its zone
(GMT, +0800) is read in it. A relative date counts back from `now` (the
fetch). Nonsense (month 13, the year 1900) is no date, so a page never gets
a wrong one. (dateparser would read more, but pulls in `regex` and 20 MB of
locale data for forms our sources do not use.)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

BEIJING = timezone(timedelta(hours=8), "CST")
_NUMERIC = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:：时]\s*(\d{2})(?:\s*[:：分]\s*(\d{2}))?)?"
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_NAMED = re.compile(
    r"\b(?:(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})"  # 15 June 2024
    r"|([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4}))\b"  # June 15th, 2024
    r"(?:,?\s*(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap])?\.?m?\.?)?",  # 9:30 a.m.
    re.I,
)
# An RFC 2822 date with its zone, as feeds and HTTP write them: Sat, 15 Jun 2024 09:30:00 GMT
_RFC2822 = re.compile(
    r"\b\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?\s+"
    r"(?:[+-]\d{4}|GMT|UTC|UT|Z|[ECMP][SD]T)\b"
)
_AGO_ZH = re.compile(r"(\d+)\s*(秒|分钟|分鐘|小时|小時|天|周|週|星期)\s*前")
_AGO_EN = re.compile(r"\b(\d+|an?)\s+(second|minute|min|hour|hr|day|week)s?\s+ago\b", re.I)
_DAY_WORD = re.compile(
    r"(刚刚|剛剛|just now|今天|今日|today|昨天|昨日|yesterday|前天)"
    r"(?:\s*(?:at\s+)?(\d{1,2})\s*[:：]\s*(\d{2}))?",
    re.I,
)
_UNIT_SECONDS = {
    "秒": 1, "second": 1,
    "分钟": 60, "分鐘": 60, "minute": 60, "min": 60,
    "小时": 3600, "小時": 3600, "hour": 3600, "hr": 3600,
    "天": 86400, "day": 86400,
    "周": 604800, "週": 604800, "星期": 604800, "week": 604800,
}  # fmt: skip
_DAYS_BACK = {"今天": 0, "今日": 0, "today": 0, "昨天": 1, "昨日": 1, "yesterday": 1, "前天": 2}
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


def _relative(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    """2小时前, 3 days ago, 昨天 17:10, 刚刚: counted back from `now`, read in `zone`."""
    ago = _AGO_ZH.search(text) or _AGO_EN.search(text)
    if ago:
        count = 1 if ago.group(1).lower() in ("a", "an") else int(ago.group(1))
        return now - timedelta(seconds=count * _UNIT_SECONDS[ago.group(2).lower()])
    word = _DAY_WORD.search(text)
    if not word:
        return None
    name = word.group(1).lower()
    if name in ("刚刚", "剛剛", "just now"):
        return now
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=_DAYS_BACK[name])
    hour, minute = (int(word.group(2)), int(word.group(3))) if word.group(2) else (0, 0)
    if hour > 23 or minute > 59:
        return None
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def _named(match: re.Match[str], zone: tzinfo) -> datetime | None:
    day1, month1, year1, month2, day2, year2, hour, minute, second, half = match.groups()
    month_name = (month1 or month2 or "").lower()
    if month_name not in _MONTHS:
        return None
    clock = [int(hour or 0), int(minute or 0), int(second or 0)]
    if half and half.lower() == "p" and clock[0] < 12:
        clock[0] += 12
    elif half and half.lower() == "a" and clock[0] == 12:
        clock[0] = 0
    if clock[0] > 23 or clock[1] > 59 or clock[2] > 59:
        clock = [0, 0, 0]
    return _make(int(year1 or year2), _MONTHS[month_name], int(day1 or day2), *clock, zone)


def parse_date(
    text: str | None, zone: tzinfo = UTC, now: datetime | None = None
) -> datetime | None:
    """The first date in `text`, aware (in `zone` when it names none), or None.

    `now` (default: the clock) is where relative dates count back from.
    """
    if not text:
        return None
    if _ISO.match(text):
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            parsed = None
        if parsed is not None and 1990 <= parsed.year <= 2100:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    rfc = _RFC2822.search(text)
    if rfc:
        start = max(0, rfc.start() - 5)  # the day name, if any: "Sat, "
        try:
            stamped = parsedate_to_datetime(text[start : rfc.end()].lstrip(" ,"))
        except (TypeError, ValueError, IndexError):
            stamped = None
        if stamped is not None and 1990 <= stamped.year <= 2100:
            return stamped if stamped.tzinfo else stamped.replace(tzinfo=UTC)
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
        found = _named(named, zone)
        if found:
            return found
    return _relative(text, zone, now or datetime.now(UTC))

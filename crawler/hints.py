"""Read when a server wants us back: Cache-Control, Expires, Retry-After, RSS <ttl>."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from crawler.schedule import CacheHints

_DIRECTIVE = re.compile(r"\s*([A-Za-z-]+)\s*(?:=\s*\"?([^\",]*)\"?)?\s*(?:,|$)")


def cache_control(value: str) -> dict[str, str]:
    """Cache-Control's directives, names lower-cased: {"max-age": "60", "no-store": ""}."""
    return {m.group(1).lower(): (m.group(2) or "").strip() for m in _DIRECTIVE.finditer(value)}


def _number(text: str) -> float | None:
    """A whole number of ASCII digits as a float, or None; Python's `isdigit` also takes
    superscripts ("²"), which `float` refuses: a hostile header must not fail the poll."""
    text = text.strip()
    return float(text) if text.isascii() and text.isdigit() else None


def _freshness(value: str) -> float | None:
    """How long the response stays fresh for us, from Cache-Control (RFC 9111 5.2.2).

    A poller fetches once for every subscriber, as a shared cache does, so
    `s-maxage` wins over `max-age`; `no-store` and `no-cache` give no hint.
    """
    directives = cache_control(value)
    if "no-store" in directives or "no-cache" in directives:
        return None
    for name in ("s-maxage", "max-age"):
        seconds = _number(directives.get(name, ""))
        if seconds is not None:
            return seconds or None
    return None


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _seconds_until(value: str | None, now: datetime) -> float | None:
    """A delta-seconds or an HTTP date, as seconds from `now` (None if past or unreadable)."""
    if not value:
        return None
    value = value.strip()
    if (seconds := _number(value)) is not None:
        return seconds or None
    when = _http_date(value)
    if when is None:
        return None
    seconds = (when - now).total_seconds()
    return seconds if seconds > 0 else None


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    return _seconds_until(headers.get("retry-after"), now)


def from_headers(
    headers: Mapping[str, str], now: datetime, ttl_minutes: str | None = None
) -> CacheHints:
    """Hints from response headers (keys lower-case) and an RSS <ttl> in minutes."""
    control = headers.get("cache-control", "")
    max_age = _freshness(control)
    expires_in = None
    overrides = {"no-store", "no-cache", "max-age", "s-maxage"} & cache_control(control).keys()
    if not overrides:  # Cache-Control wins over Expires (RFC 9111)
        reference = _http_date(headers.get("date", "")) or now
        expires = _http_date(headers.get("expires", ""))
        if expires is not None:
            seconds = (expires - reference).total_seconds()
            expires_in = seconds if seconds > 0 else None
    minutes = _number(ttl_minutes or "")
    ttl = minutes * 60 or None if minutes is not None else None
    return CacheHints(
        max_age=max_age, expires_in=expires_in, ttl=ttl, retry_after=retry_after(headers, now)
    )

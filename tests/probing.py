"""One headline and lead through the matcher, as the filter tests probe it."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import MatchResult, RawStory


def match(matcher: Matcher, title: str, text: str = "") -> MatchResult:
    """The matcher's verdict on a story made of `title` and `text`, fetched now."""
    raw = RawStory("probe", "https://probe.invalid/1", title, text)
    return matcher.match(normalise(raw, fetched_at=datetime.now(UTC)))

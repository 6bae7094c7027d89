"""One headline and lead through the matcher, as the filter tests probe it."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import MatchResult, RawStory
from crawler.watchlist import builtin_watchlist


@cache
def shipped_matcher() -> Matcher:
    """The built-in watchlist's matcher, built once per test process and shared.

    Why: a build costs 0.2-0.6 s of CPU and about forty modules and fixtures used
    to make their own; matching does not change a Matcher, so sharing it changes
    no verdict. Tests of the build itself (tests/crawler/test_compiled.py, the
    veto's determinism) still build their own.
    """
    return Matcher(builtin_watchlist())


def match(matcher: Matcher, title: str, text: str = "") -> MatchResult:
    """The matcher's verdict on a story made of `title` and `text`, fetched now."""
    raw = RawStory("probe", "https://probe.invalid/1", title, text)
    return matcher.match(normalise(raw, fetched_at=datetime.now(UTC)))

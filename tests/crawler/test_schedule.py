"""When to poll next: adaptive, hinted, backed off; table-driven."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from crawler.hints import from_headers
from crawler.schedule import (
    CacheHints,
    PollPolicy,
    failure_interval,
    success_interval,
    with_jitter,
)

POLICY = PollPolicy(min_interval=300, max_interval=86400, backoff_max=6 * 3600, jitter=0.1)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("configured", "weekly", "hints", "expected"),
    [
        (600, 0, CacheHints(), 600),  # quiet feed: the configured interval, never longer
        (3600, 168, CacheHints(), 3600),  # 7 days / 168 entries = 1 h
        (3600, 1008, CacheHints(), 600),  # busy feed polled faster: 10 min
        (3600, 100_000, CacheHints(), 300),  # ... but never under min_interval
        (600, 0, CacheHints(max_age=1800), 1800),  # the server's max-age is a lower bound
        (600, 0, CacheHints(ttl=3600), 3600),  # RSS <ttl>
        (600, 0, CacheHints(retry_after=7200), 7200),
        (600, 0, CacheHints(max_age=10 * 86400), 86400),  # capped: polling never stops
    ],
)
def test_success_interval(
    configured: float, weekly: int, hints: CacheHints, expected: float
) -> None:
    assert success_interval(configured, weekly, hints, POLICY) == expected


def test_adaptive_can_be_turned_off() -> None:
    assert success_interval(3600, 1008, CacheHints(), PollPolicy(adaptive=False)) == 3600


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 600), (2, 1200), (3, 2400), (6, 19200), (7, 21600), (50, 21600), (10_000, 21600)],
)
def test_backoff_doubles_and_is_capped(failures: int, expected: float) -> None:
    assert failure_interval(600, failures, CacheHints(), POLICY) == expected


def test_retry_after_outranks_a_short_backoff() -> None:
    assert failure_interval(600, 1, CacheHints(retry_after=3000), POLICY) == 3000


def test_an_absurd_retry_after_waits_the_backoff_cap_at_most() -> None:
    """A Retry-After of 10^40 s or a date in 2099 (seen behind broken gateways): 6 hours."""
    assert failure_interval(600, 1, CacheHints(retry_after=1e40), POLICY) == 6 * 3600


def test_jitter_only_adds_time() -> None:
    rng = random.Random(1)
    times = [with_jitter(NOW, 1000, POLICY, rng) for _ in range(200)]
    assert all(NOW + timedelta(seconds=1000) <= t <= NOW + timedelta(seconds=1100) for t in times)
    assert len(set(times)) > 1


@pytest.mark.parametrize(
    ("headers", "ttl", "expected"),
    [
        ({"cache-control": "public, max-age=900"}, None, CacheHints(max_age=900)),
        ({"cache-control": "no-cache, max-age=900"}, None, CacheHints()),
        ({"cache-control": "no-store, max-age=900"}, None, CacheHints()),
        ({"cache-control": "max-age=60, s-maxage=900"}, None, CacheHints(max_age=900)),
        ({"cache-control": 's-maxage="600"'}, None, CacheHints(max_age=600)),
        ({"cache-control": "s-max-age=900"}, None, CacheHints()),  # no such directive
        (
            {"date": "Thu, 01 Jan 2026 12:00:00 GMT", "expires": "Thu, 01 Jan 2026 12:30:00 GMT"},
            None,
            CacheHints(expires_in=1800),
        ),
        ({"expires": "0"}, None, CacheHints()),  # a common "already expired"
        ({"retry-after": "120"}, None, CacheHints(retry_after=120)),
        ({"retry-after": "Thu, 01 Jan 2026 13:00:00 GMT"}, None, CacheHints(retry_after=3600)),
        ({"retry-after": "Thu, 01 Jan 2026 11:00:00 GMT"}, None, CacheHints()),  # past
        ({"retry-after": "-5"}, None, CacheHints()),
        ({"retry-after": "9" * 40}, None, CacheHints(retry_after=float("9" * 40))),  # capped
        ({}, "60", CacheHints(ttl=3600)),
        ({}, "soon", CacheHints()),
    ],
)
def test_hints_from_headers(headers: dict[str, str], ttl: str | None, expected: CacheHints) -> None:
    assert from_headers(headers, NOW, ttl) == expected

"""When to poll a source next: adaptive intervals, server hints, capped backoff.

Pure: every input (the time, the publishing rate, the server's caching
headers, the failure streak, a random source for jitter) is an argument.

- After a success the interval is the configured one, shortened for busy
  feeds to 7 days / entries seen in the last week (Miniflux's rule), never
  below `min_interval`. It is never lengthened past what the operator
  configured: a quiet regulator feed is the one whose next notice matters.
- The server's Cache-Control max-age, Expires, RSS <ttl> and Retry-After are
  lower bounds, capped at `max_interval` so a year-long max-age cannot stop
  polling.
- After a failure the delay doubles with each failure in a row, starting
  from the configured interval and capped at `backoff_max`; polling never
  stops.
- Jitter only ever adds time, so no lower bound is broken.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

WEEK = 7 * 86400.0


@dataclass(frozen=True)
class PollPolicy:
    min_interval: float = 300.0
    max_interval: float = 86400.0
    backoff_max: float = 6 * 3600.0
    adaptive: bool = True
    jitter: float = 0.1  # fraction of the interval added at random


@dataclass(frozen=True)
class CacheHints:
    """What a response said about when to come back, in seconds from now."""

    max_age: float | None = None
    expires_in: float | None = None
    ttl: float | None = None
    retry_after: float | None = None

    def lower_bound(self) -> float:
        values = [v for v in (self.max_age, self.expires_in, self.ttl, self.retry_after) if v]
        return max(values, default=0.0)


def success_interval(
    configured: float, entries_last_week: int, hints: CacheHints, policy: PollPolicy
) -> float:
    """Seconds until the next poll after a successful one (before jitter)."""
    interval = configured
    if policy.adaptive and entries_last_week > 0:
        interval = min(configured, WEEK / entries_last_week)
    interval = max(interval, policy.min_interval)
    return max(interval, min(hints.lower_bound(), policy.max_interval))


def failure_interval(
    configured: float, failures: int, hints: CacheHints, policy: PollPolicy
) -> float:
    """Seconds until the next try after `failures` failures in a row (before jitter)."""
    exponent = max(0, failures - 1)
    delay = policy.backoff_max if exponent >= 32 else configured * 2**exponent
    delay = min(delay, policy.backoff_max)
    return max(delay, min(hints.lower_bound(), policy.backoff_max))


def with_jitter(now: datetime, seconds: float, policy: PollPolicy, rng: random.Random) -> datetime:
    return now + timedelta(seconds=seconds * (1 + rng.uniform(0, policy.jitter)))

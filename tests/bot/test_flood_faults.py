"""A 429 whose retry_after is absurd: the alert waits at most an hour, nothing is lost or stuck."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.retry_after import MAX_RETRY_AFTER
from crackdown.standin import BotApiStandIn
from storage import outbox
from storage.db import Database
from tests.bot.test_delivery import FAST, drain, queue_story


@pytest.mark.parametrize("retry_after", [10**6, 10**10, 10**13])
def test_a_huge_retry_after_parks_the_alert_an_hour_at_most(
    db: Database, standin: BotApiStandIn, retry_after: int
) -> None:
    """Old code: 10^6 s parked the alert 11 days, 10^10 s until 2343, and 10^13 s overflowed
    the datetime while handling the 429, leaving the row leased ('sending')."""
    standin.add_user(1, "one")
    standin.add_user(2, "two")
    standin.inject_faults().fail_next(
        1, 429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )
    queue_story(db, [1, 2])
    report = drain(db, standin, FAST)
    assert report.rate_limited == 1
    with db.session() as session:
        counts = outbox.counts(session)
    assert counts.sending == 0 and counts.pending == 1
    assert counts.oldest_due is not None
    latest = datetime.now(UTC) + timedelta(seconds=MAX_RETRY_AFTER + 60)
    assert counts.oldest_due.astimezone(UTC) <= latest

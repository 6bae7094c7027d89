"""A group whose admins took the bot's right to post: 400 "not enough rights to send text
messages to the chat".

Old code: any 400 but "can't parse entities" failed the row at once, so every alert to
such a group failed for good, one error line each, for as long as the group stayed
subscribed; alerts queued while an admin was fixing the rights were never sent.
Now it is handled like a kicked bot: retried, and the chat dropped after
`deactivate_after` failures in a row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.delivery import DeliverySettings
from crackdown.standin import BotApiStandIn
from storage import outbox, subscribers
from storage.db import Database
from tests.bot.test_delivery import FAST, drain, drain_at, queue_story, texts

GROUP = -700


def test_alerts_wait_while_the_bot_may_not_post_and_go_out_when_it_may_again(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_group(GROUP, "Traders", "supergroup")
    standin.restrict_bot(GROUP)
    queue_story(db, [GROUP])
    report = drain(db, standin, DeliverySettings(base_backoff=60.0))
    assert (report.failed, report.sent, report.retried) == (0, 0, 1), report
    standin.restrict_bot(GROUP, restricted=False)  # an admin gives the right back
    report = drain_at(db, standin, datetime.now(UTC) + timedelta(minutes=5))
    assert report.sent == 1 and len(texts(standin, GROUP)) == 1


def test_a_group_that_never_gives_the_right_back_is_dropped(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_group(GROUP, "Traders", "supergroup")
    standin.restrict_bot(GROUP)
    queue_story(db, [GROUP])
    report = drain(db, standin, replace(FAST, deactivate_after=3, max_attempts=10))
    assert (report.retried, report.skipped, report.failed) == (2, 1, 0)
    with db.session() as session:
        (entry,) = outbox.ledger(session, GROUP)
        assert subscribers.topics_of(session, GROUP) == []
    assert entry.status == "skipped" and "not enough rights" in (entry.reason or "").lower()

"""A reader blocks the bot while their long digest is going out (after its first part).

Checked, not changed: the chat is deactivated at once, the digest's rows end `skipped`
with the reason (not pending for ever, not retried, not `failed` one by one), one log
line, and the other reader's alerts go on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crackdown.standin import BotApiStandIn
from storage import outbox, subscribers
from storage.db import Database
from tests.bot.test_delivery import queue_story
from tests.bot.test_digest import drain_at

READER, OTHER = 1, 2


def test_a_block_mid_digest_skips_its_rows_once_and_others_are_served(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(READER, "digest reader")
    standin.add_user(OTHER, "instant reader")
    for n in range(25):  # two parts or more
        title = f"PBoC bans bitcoin OTC trading, notice {n:02d} " + "x" * 80
        queue_story(db, [READER, OTHER], title=title)
    with db.session() as session:
        subscribers.set_preferences(session, READER, digest="daily", digest_at=0)

    def block_after_first_part(method: str, params: Any) -> None:
        if method.lower() == "sendmessage" and len(standin.sent_messages(READER)) == 1:
            standin.block(READER)

    standin.state.interceptors.append(block_after_first_part)
    report = drain_at(db, standin, datetime.now(UTC) + timedelta(days=1, hours=1))
    assert len(standin.sent_messages(READER)) == 1 and len(standin.sent_messages(OTHER)) == 1
    assert (report.failed, report.retried) == (0, 0), report
    with db.session() as session:
        statuses = {e.status for e in outbox.ledger(session, READER)}
        assert subscribers.topics_of(session, READER) == []
        counts = outbox.counts(session)
    assert statuses == {"skipped"}, statuses
    # The reader's 25 skipped; the other's: one sent, 24 waiting their turn (one a second,
    # and the clock here is frozen).
    assert (counts.skipped, counts.sent, counts.pending, counts.failed) == (25, 1, 24, 0)

"""The delivery worker with the real PTB Bot against the Bot API stand-in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot

from bot.delivery import DeliveryReport, DeliverySettings, DeliveryWorker
from crackdown.standin import BotApiStandIn
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from crawler.watchlist import builtin_watchlist
from storage import outbox, sources, stories, subscribers
from storage.db import Database
from tests.conftest import TOKEN

TOPIC = "china-crypto-enforcement"
LABELS = {"en": {e.key: e.name_en for e in builtin_watchlist().entities}}


def queue_story(
    db: Database, chat_ids: list[int], title: str = "PBoC bans bitcoin OTC trading"
) -> None:
    matcher = Matcher(builtin_watchlist())
    story = normalise(
        RawStory("feed", f"https://n.example/{title}", title), fetched_at=datetime.now(UTC)
    )
    with db.session() as session:
        sources.sync_sources(session, [("feed", "feed", "https://a.example/feed")])
        for chat_id in chat_ids:
            subscribers.subscribe(session, chat_id, topic=TOPIC)
        stories.store_story(session, story, matcher.match(story))


def drain(
    db: Database, standin: BotApiStandIn, settings: DeliverySettings | None = None
) -> DeliveryReport:
    async def go() -> DeliveryReport:
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            return await DeliveryWorker(db, bot, LABELS, settings or DeliverySettings()).drain()

    return asyncio.run(go())


def test_alerts_reach_every_subscriber_once_with_message_ids(
    db: Database, standin: BotApiStandIn
) -> None:
    for chat_id in (1, 2, 3):
        standin.add_user(chat_id, f"user{chat_id}")
    queue_story(db, [1, 2, 3])
    report = drain(db, standin)
    assert report.sent == 3
    assert [len(standin.sent_messages(c)) for c in (1, 2, 3)] == [1, 1, 1]
    assert standin.sent_messages(1)[0].plain_text.startswith("PBoC bans bitcoin OTC trading")
    assert drain(db, standin).sent == 0  # a rerun sends nothing
    with db.session() as session:
        assert outbox.counts(session).sent == 3


def test_a_chat_that_blocked_the_bot_is_deactivated_and_others_still_get_alerts(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(1, "stays")
    standin.add_user(2, "blocks")
    standin.block(2)
    queue_story(db, [1, 2])
    report = drain(db, standin)
    assert (report.sent, report.skipped) == (1, 1)
    with db.session() as session:
        assert subscribers.topics_of(session, 2) == []
        assert outbox.counts(session).skipped == 1
    queue_story(db, [1], title="WeChat Pay freezes bitcoin OTC accounts")
    with db.session() as session:
        assert outbox.counts(session).pending == 1  # nothing new queued for the blocked chat


def test_unknown_chat_is_retried_later_not_now(db: Database, standin: BotApiStandIn) -> None:
    queue_story(db, [999])  # the stand-in knows no chat 999: "chat not found"
    report = drain(db, standin, DeliverySettings(base_backoff=60.0))
    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    with db.session() as session:
        assert outbox.counts(session).pending == 1
        assert (
            outbox.claim_due(session, datetime.now(UTC), limit=5, lease=timedelta(seconds=5)) == []
        )


def test_retries_stop_at_max_attempts(db: Database, standin: BotApiStandIn) -> None:
    queue_story(db, [999])
    report = drain(db, standin, DeliverySettings(max_attempts=3, base_backoff=0.0))
    assert (report.retried, report.failed) == (2, 1)
    with db.session() as session:
        counts = outbox.counts(session)
    assert (counts.pending, counts.failed) == (0, 1)


@pytest.mark.parametrize("unit", [int, lambda s: timedelta(seconds=s)])
def test_retry_after_accepts_int_and_timedelta(unit: object) -> None:
    from bot.delivery import _seconds

    assert _seconds(unit(3)) == 3.0  # type: ignore[operator]

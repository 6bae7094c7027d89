"""Digests: which boundary a row belongs to, and one message for many alerts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from telegram import Bot

from bot.delivery import DeliveryReport, DeliveryWorker
from bot.digest import last_boundary, next_boundary
from crackdown.standin import BotApiStandIn
from storage import outbox, subscribers
from storage.db import Database
from tests.bot.test_delivery import FAST, LABELS, queue_story
from tests.conftest import TOKEN


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_hourly_and_daily_boundaries_in_the_chats_zone() -> None:
    assert last_boundary(at(25, 10, 59), "hourly", None, "UTC") == at(25, 10)
    assert next_boundary(at(25, 10, 0), "hourly", None, "UTC") == at(25, 11)
    # Daily at 08:00 Shanghai = 00:00 UTC.
    assert next_boundary(at(25, 1), "daily", 8 * 60, "Asia/Shanghai") == at(26, 0)
    assert next_boundary(at(24, 23), "daily", 8 * 60, "Asia/Shanghai") == at(25, 0)
    assert last_boundary(at(25, 1), "daily", 8 * 60, "Asia/Shanghai") == at(25, 0)


def drain_at(db: Database, standin: BotApiStandIn, when: datetime) -> DeliveryReport:
    async def go() -> DeliveryReport:
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            worker = DeliveryWorker(db, bot, LABELS, replace(FAST, linger=0.1), clock=lambda: when)
            return await worker.drain()

    return asyncio.run(go())


TITLES = [
    "PBoC bans bitcoin OTC trading",
    "Alipay freezes USDT OTC accounts",
    "CSRC bans crypto ICO fundraising",
]
SUMMARY = "The People's Bank of China ordered platforms to stop serving crypto traders"


def test_an_hourly_digest_sends_the_hours_alerts_as_one_message(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(1, "digest reader")
    standin.add_user(2, "instant reader")
    for title in TITLES:
        queue_story(db, [1, 2], title=title, summary=f"{SUMMARY} ({title})")
    with db.session() as session:
        subscribers.set_preferences(session, 1, digest="hourly")
    now = datetime.now(UTC) + timedelta(seconds=1)
    first = drain_at(db, standin, now)
    # The instant reader starts getting alerts (1/s, so the frozen clock stops at one)...
    assert len(standin.sent_messages(2)) == 1 and first.held == 1
    assert standin.sent_messages(1) == []  # ...the digest reader gets nothing yet
    top_of_next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    report = drain_at(db, standin, top_of_next_hour + timedelta(seconds=30))
    (digest,) = standin.sent_messages(1)
    assert report.sent == 3 + 1  # the digest's three, and the instant reader's next one
    assert digest.plain_text.startswith("Digest: 3 new")
    assert [title in digest.plain_text for title in TITLES] == [True, True, True]
    # Each entry has the alert's snippet, its hit in bold.
    assert digest.plain_text.count("The People's Bank of China ordered") == 3
    assert digest.text.count("<b>People's Bank of China</b>") == 3
    with db.session() as session:
        entries = outbox.ledger(session, 1)
    assert {(e.status, e.message_id) for e in entries} == {("sent", digest.message_id)}


def test_a_long_digest_is_split_and_nothing_is_lost(db: Database, standin: BotApiStandIn) -> None:
    standin.add_user(1, "reader")
    for n in range(60):
        queue_story(db, [1], title=f"PBoC bans bitcoin OTC trading, notice {n:02d} " + "x" * 80)
    with db.session() as session:
        subscribers.set_preferences(session, 1, digest="daily", digest_at=0)
    later = datetime.now(UTC) + timedelta(days=1, hours=1)
    drain_at(db, standin, later)
    parts = standin.sent_messages(1)
    assert len(parts) >= 2 and all(len(p.plain_text) <= 4096 for p in parts)
    text = "".join(p.plain_text for p in parts)
    assert all(f"notice {n:02d}" in text for n in range(60))
    with db.session() as session:
        assert outbox.counts(session).sent == 60

"""A hold that ends early releases the alerts it held: at once, in order.

/unmute, /quiet off, a shorter /mute and /digest off, said through the Bot
API stand-in to the real handlers; the delivery worker then sends through
the same stand-in. The held alerts must not wait for the old end of the hold
(a /mute 30d then /unmute once silenced a chat for 30 days), and the alerts
queued behind them must not either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot

from bot.delivery import DeliveryReport, DeliverySettings, DeliveryWorker
from bot.request import BotSettings
from crackdown.standin import BotApiStandIn
from storage.db import Database
from tests.bot.test_commands import ANN, TOPIC, Conversation, store
from tests.bot.test_delivery import LABELS
from tests.conftest import TOKEN

TITLES = [
    "PBoC bans bitcoin OTC trading, first report",
    "PBoC bans bitcoin OTC trading, second report",
    "PBoC bans bitcoin OTC trading, third report",
]


def drain(db: Database, standin: BotApiStandIn, ahead: timedelta = timedelta(0)) -> DeliveryReport:
    """One delivery pass on a clock `ahead` of real time."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC) + ahead  # noqa: E731

    async def go() -> DeliveryReport:
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            return await DeliveryWorker(db, bot, LABELS, DeliverySettings(), clock=clock).drain()

    return asyncio.run(go())


def clock_in(minutes: int) -> str:
    """HH:MM (UTC, the chat's zone by default) `minutes` from now."""
    return f"{datetime.now(UTC) + timedelta(minutes=minutes):%H:%M}"


def alerts_to(standin: BotApiStandIn, chat: int) -> list[str]:
    return [title for m in standin.sent_messages(chat) for title in TITLES if title in m.plain_text]


@pytest.mark.parametrize(
    ("hold", "release", "ahead"),
    [
        ("/mute 30d", "/unmute", timedelta(0)),
        ("/mute 30d", "/mute 30m", timedelta(minutes=31)),  # a shorter mute, over by then
        (f"/quiet {clock_in(-60)}-{clock_in(180)}", "/quiet off", timedelta(0)),
        (f"/digest daily {clock_in(-60)}", "/digest off", timedelta(0)),
    ],
    ids=["unmute", "shorter-mute", "quiet-off", "digest-off"],
)
def test_alerts_held_by_a_hold_that_ends_early_arrive_at_once_in_order(
    db: Database, standin: BotApiStandIn, hold: str, release: str, ahead: timedelta
) -> None:
    standin.add_user(ANN, "Ann")
    talk = Conversation(db, standin, BotSettings(default_topic=TOPIC, commands_per_minute=20))
    talk.say(ANN, "/start")
    talk.one(ANN, hold)
    store(db, TITLES[0])
    report = drain(db, standin)
    assert (report.held, report.sent) == (1, 0)  # the hold holds
    for title in TITLES[1:]:  # newer alerts queue behind the held one
        store(db, title)
    assert drain(db, standin).sent == 0
    talk.one(ANN, release)
    assert drain(db, standin, ahead).sent == len(TITLES)
    assert alerts_to(standin, ANN) == TITLES

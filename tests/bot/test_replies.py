"""Replies to commands are paced on the alerts' budget, go first, and survive a 429."""

from __future__ import annotations

import asyncio

from telegram.ext import ApplicationBuilder

from bot.delivery import DeliveryReport, DeliverySettings, DeliveryWorker
from bot.handlers import Handlers
from bot.pacing import Limits, Pacer
from bot.request import BotSettings, Deps
from crackdown.daemon import process_pending_updates
from crackdown.standin import BotApiStandIn, FloodLimits
from storage.db import Database
from tests.bot.test_commands import ANN, MATCHER, TOPIC, WATCHLIST, Conversation
from tests.bot.test_delivery import LABELS, queue_story
from tests.conftest import TOKEN

SETTINGS = BotSettings(default_topic=TOPIC)
COMMANDS = ("/help", "/list", "/latest", "/start", "/list")


def test_every_command_is_answered_under_the_strict_per_chat_limit(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(ANN, "Ann")
    control = standin.enforce_limits(FloodLimits())  # 1 message/s per private chat, no burst
    talk = Conversation(db, standin, SETTINGS)
    # paced with a margin, as a loaded machine delays requests unevenly (load 9: two 429s)
    pacer = Pacer(Limits(margin=0.25))
    talk.handlers = Handlers(Deps(db, WATCHLIST, lambda: MATCHER, SETTINGS, pacer=pacer))
    for command in COMMANDS:  # sent within a second, handled one after another
        standin.send_text(ANN, command)
    asyncio.run(talk._process())
    assert len(standin.sent_messages(ANN)) == len(COMMANDS)
    assert control.rejected <= 1  # paced (a loaded machine's jitter may cost one retry)


def test_a_reply_refused_with_429_is_sent_after_retry_after(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(ANN, "Ann")
    faults = standin.inject_faults()
    faults.fail_next(ANN, 429, "Too Many Requests: retry after 1", {"retry_after": 1}, times=2)
    talk = Conversation(db, standin, SETTINGS)
    assert talk.one(ANN, "/help").startswith("/start")


def test_replies_and_alerts_share_the_budget_and_replies_go_first(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(ANN, "Ann")
    control = standin.enforce_limits(FloodLimits())
    for n in range(4):
        queue_story(db, [ANN], title=f"PBoC bans bitcoin OTC trading, day {n}")
    for command in ("/help", "/list"):
        standin.send_text(ANN, command)
    pacer = Pacer(Limits(margin=0.25))  # wide: a loaded machine delays requests unevenly
    handlers = Handlers(Deps(db, WATCHLIST, lambda: MATCHER, SETTINGS, pacer=pacer))
    settings = DeliverySettings(base_backoff=0.05, max_backoff=0.2, pause_margin=0.1)

    async def run() -> DeliveryReport:
        application = ApplicationBuilder().token(TOKEN).base_url(standin.base_url).build()
        handlers.register(application)
        async with application:
            worker = DeliveryWorker(db, application.bot, LABELS, settings, pacer=pacer)
            drained = asyncio.create_task(worker.drain())
            await asyncio.sleep(0.1)  # the first alert is on its way: the replies come next
            await process_pending_updates(application)
            return await drained

    report = asyncio.run(run())
    sent = standin.sent_messages(ANN)
    assert report.sent == 4 and len(sent) == 6
    assert control.rejected == 0 and report.rate_limited == 0
    replies = [n for n, message in enumerate(sent) if "PBoC" not in message.plain_text]
    assert len(replies) == 2 and max(replies) <= 2  # ahead of the alerts still queued

"""A Bot API outage pauses delivery instead of using up every row's attempts."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from telegram import Bot
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot.delivery import DeliveryReport, DeliveryWorker
from crackdown.standin import BotApiStandIn, Outage
from storage.db import Database
from tests.bot.test_delivery import FAST, LABELS, queue_story
from tests.conftest import TOKEN

USERS = [1, 2, 3, 4, 5]


def _rows(db: Database) -> list[tuple[str, int]]:
    with db.session() as session:
        rows = session.execute(text("SELECT status, attempts FROM deliveries ORDER BY id"))
        return [(status, attempts) for status, attempts in rows]


def test_an_outage_stops_the_drain_and_the_alerts_go_out_when_it_ends(
    db: Database, standin: BotApiStandIn
) -> None:
    for user in USERS:
        standin.add_user(user, f"u{user}")
    queue_story(db, USERS)
    reported: list[TelegramError] = []

    async def go() -> tuple[DeliveryReport, DeliveryReport]:
        request = HTTPXRequest(connection_pool_size=16, read_timeout=5)
        async with Bot(TOKEN, base_url=standin.base_url, request=request) as bot:
            worker = DeliveryWorker(db, bot, LABELS, FAST)
            worker.connected = lambda: not reported
            worker.on_unreachable = reported.append
            outage = Outage()
            standin.state.interceptors.insert(0, outage)
            during = await asyncio.wait_for(worker.drain(), 10)
            standin.state.interceptors.remove(outage)
            reported.clear()  # the daemon's probe found Telegram back
            after = await asyncio.wait_for(worker.drain(), 10)
            return during, after

    during, after = asyncio.run(go())
    assert during.sent == 0 and during.failed == 0
    assert after.sent == len(USERS) and after.failed == 0
    assert all(status == "sent" and attempts <= 2 for status, attempts in _rows(db))
    assert len(standin.sent_messages()) == len(USERS)

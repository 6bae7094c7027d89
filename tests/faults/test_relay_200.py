"""A Bot API relay in front of Telegram that answers 200 whatever Telegram said (a
Cloudflare Worker, an nginx with `proxy_intercept_errors`; common where api.telegram.org
is blocked): `{"ok":false,"error_code":403,...}` with status 200.

Old code: PTB took the 200 for success and failed on the missing "result": a KeyError
traceback per send ("unexpected error delivering"), the blocked chat was retried until
max_attempts instead of dropped, and HTML Telegram could not parse was never resent plain.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from telegram import Bot

from bot.delivery import DeliveryReport, DeliveryWorker
from bot.transport import AiohttpRequest
from crackdown.standin import BotApiStandIn
from storage import subscribers
from storage.db import Database
from tests.bot.test_delivery import FAST, LABELS, TOPIC, queue_notice
from tests.conftest import TOKEN
from tests.faults.gateway import Gateway


def drain_through(db: Database, base_url: str) -> DeliveryReport:
    async def go() -> DeliveryReport:
        async with Bot(TOKEN, base_url=base_url, request=AiohttpRequest(4)) as bot:
            return await DeliveryWorker(db, bot, LABELS, FAST).drain()

    return asyncio.run(go())


def test_telegram_errors_relayed_as_200_are_read_as_telegram_gave_them(
    db: Database, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.add_user(1, "reader")
    standin.add_user(2, "blocked")
    standin.block(2)
    with db.session() as session:
        for chat in (1, 2):
            subscribers.subscribe(session, chat, topic=TOPIC)
    queue_notice(db, "<b>Source <i>down</b>", [1, 2])  # HTML Telegram cannot parse
    with Gateway(standin.base_url.removesuffix("/bot")) as gateway, caplog.at_level(logging.INFO):
        gateway.mode = "flatten"
        report = drain_through(db, gateway.base_url)
    assert (report.sent, report.skipped, report.plain_text_fallbacks) == (1, 1, 1), report
    assert [m.plain_text for m in standin.sent_messages(1)] == ["Source down"]
    with db.session() as session:
        assert subscribers.topics_of(session, 2) == []  # blocked: dropped at once
    assert not any(r.exc_info for r in caplog.records), caplog.text

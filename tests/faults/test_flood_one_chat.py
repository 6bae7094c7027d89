"""Telegram answers 429 with retry_after 3600 for one chat (a group's flood ban): that chat
waits the hour, every other chat's alerts keep going out.

Old code: the 429 paused all sending for the whole retry_after, so a next story reached
nobody for an hour; each drain in between deferred every claimed row to the pause's end.
The same on a reply to a command: every other chat's replies and alerts waited the hour,
and the reply, given up after four such 429s, ended in a "handler failed" traceback.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from telegram import Bot

from bot.delivery import DeliveryReport, DeliveryWorker
from bot.transport import AiohttpRequest
from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from storage import outbox
from storage.db import Database
from tests.bot.test_delivery import FAST, LABELS, queue_story
from tests.conftest import TOKEN
from tests.e2e.conftest import serve_sample_feeds, write_config
from tests.e2e.test_lifecycle import running

SETTINGS = replace(FAST, flood_pause_max=0.3)  # the default, 30 s, is long for a test


def test_one_chats_long_429_holds_that_chat_only(db: Database, standin: BotApiStandIn) -> None:
    for chat in (1, 2, 3):
        standin.add_user(chat, f"user{chat}")
    standin.inject_faults().fail_next(
        1, 429, "Too Many Requests: retry after 3600", {"retry_after": 3600}
    )
    queue_story(db, [1])

    async def go() -> tuple[DeliveryReport, DeliveryReport]:
        request = AiohttpRequest(16, read_timeout=5)
        async with Bot(TOKEN, base_url=standin.base_url, request=request) as bot:
            worker = DeliveryWorker(db, bot, LABELS, SETTINGS)
            first = await worker.drain()  # chat 1: 429, an hour
            queue_story(db, [1, 2, 3], title="PBoC bans bitcoin mining")
            await asyncio.sleep(0.5)
            return first, await asyncio.wait_for(worker.drain(), 30)

    first, second = asyncio.run(go())
    assert first.rate_limited == 1 and first.sent == 0
    assert second.sent == 2, second
    assert [m.chat_id for m in standin.sent_messages()] in ([2, 3], [3, 2])
    with db.session() as session:
        counts = outbox.counts(session)
        held = outbox.ledger(session, 1, 5)
    assert counts.pending == 2 and counts.sending == 0  # chat 1's two alerts, in order
    assert [e.reason for e in held] == [None, "429: retry after 3600.1s"]


def test_a_long_429_on_a_reply_holds_no_other_chat(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn
) -> None:
    ann, bob = 7401, 7402
    serve_sample_feeds(site, empty=True)
    config = write_config(tmp_path, site, standin)
    standin.add_user(ann, "Ann")
    standin.add_user(bob, "Bob")
    standin.inject_faults().fail_next(
        ann, 429, "Too Many Requests: retry after 3600", {"retry_after": 3600}
    )
    standin.send_text(ann, "/help")
    with running(config, tmp_path / "run.log") as daemon:
        daemon.wait_for(lambda log: "no reply, telegram flood control" in log, timeout=60)
        standin.send_text(bob, "/help")
        standin.wait_for_messages(1, chat_id=bob, timeout=60)  # old code: an hour later
        code, _ = daemon.stop()
    log = daemon.text()
    assert code == 0, log
    assert "Traceback" not in log and "handler failed" not in log, log
    assert not standin.sent_messages(ann)

"""One conversation cannot stall the others: concurrent updates, guards per group member."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.handlers import Handlers
from bot.pacing import Limits, Pacer
from bot.request import BotSettings
from crackdown.app import open_app
from crackdown.config import TOKEN_ENV, build_config
from crackdown.standin import BotApiStandIn
from crackdown.standin.methods import Params
from storage.db import Database
from tests.bot.test_commands import ANN, GROUP, LI, STRANGER, TOPIC, Conversation, store
from tests.conftest import TOKEN

SLOW = 1.5  # seconds getChatMember takes: a slow Bot API, or any slow command


def _slow_member_lookups(method: str, _: Params) -> None:
    if method.lower() == "getchatmember":
        time.sleep(SLOW)


def test_a_slow_command_in_one_chat_does_not_delay_another(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    standin.add_user(ANN, "Ann")
    standin.add_user(LI, "Li")
    standin.add_group(GROUP, "Traders", "supergroup", admin_ids=[ANN])
    standin.state.interceptors.append(_slow_member_lookups)
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'c.db'}"},
        "telegram": {"api_base_url": standin.base_url, "default_topic": TOPIC},
    }
    app = open_app(build_config(document, {TOKEN_ENV: TOKEN}))
    waited: dict[str, float] = {}

    def converse() -> None:
        sent = time.monotonic()
        standin.send_text(ANN, "/start", GROUP)  # two admin checks: 2 x SLOW, in order
        standin.send_text(ANN, "/stop", GROUP)
        for command in ("/start", "/watch binance", "/list"):  # in order, and not held up
            standin.send_text(LI, command)
        standin.wait_for_messages(1, LI, timeout=20)
        waited["other chat"] = time.monotonic() - sent
        replies = standin.wait_for_messages(3, LI, timeout=20)  # paced: 1 a second
        assert "binance" in replies[-1].plain_text  # /list saw the /watch before it
        group = standin.wait_for_messages(2, GROUP, timeout=20)
        waited["slow chat"] = time.monotonic() - sent
        assert group[0].plain_text.startswith("Subscribed")  # /start, then /stop
        assert group[1].plain_text.startswith("Unsubscribed")

    async def run() -> None:
        async with app.application() as application:
            assert application.updater is not None
            # replies and alerts take their slots from one budget
            assert app.delivery_worker(application.bot).pacer is app.bot_deps().pacer
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=1)
            try:
                await asyncio.to_thread(converse)
            finally:
                await application.updater.stop()
                await application.stop()

    asyncio.run(run())
    app.db.dispose()
    assert waited["other chat"] < SLOW, waited
    assert waited["slow chat"] >= 2 * SLOW, waited


@pytest.fixture
def talk_fast(db: Database, standin: BotApiStandIn) -> Iterator[Conversation]:
    """Users, a group, and a pacer that lets a group have 100 replies a second."""
    standin.add_user(ANN, "Ann")
    standin.add_user(STRANGER, "Sam")
    standin.add_group(GROUP, "Traders", "supergroup", admin_ids=[ANN])
    talk = Conversation(db, standin, BotSettings(default_topic=TOPIC, commands_per_minute=20))
    fast = Pacer(Limits(group_per_minute=6000))
    talk.handlers = Handlers(replace(talk.handlers.deps, pacer=fast))
    yield talk


def test_a_member_flooding_a_group_does_not_silence_its_admins(talk_fast: Conversation) -> None:
    for _ in range(25):
        talk_fast.standin.send_text(STRANGER, "/list", GROUP)
    asyncio.run(talk_fast._process())
    assert len(talk_fast.standin.sent_messages(GROUP)) == 20  # the member's flood is cut...
    assert talk_fast.one(ANN, "/list", GROUP).startswith("This chat follows nothing")  # ...only
    assert talk_fast.say(STRANGER, "/list", GROUP) == []


def test_the_watch_dry_run_is_bounded_and_says_when_it_was_cut(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(ANN, "Ann")
    talk = Conversation(db, standin, BotSettings(default_topic=TOPIC, dry_run_scan=3))
    for n in range(5):
        store(db, f"Binance closes its OTC desk, report {n}")
    store(db, "Huobi OTC desk under investigation")
    assert talk.one(ANN, "/watch binance") == (
        "Watching: binance\nIn the last 7 days it would have matched at least 3 stories "
        "(only the newest 3 that may match were checked)."
    )
    assert talk.one(ANN, "/watch huobi").endswith("would have matched 1 story.")

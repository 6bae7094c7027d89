"""Updates that are not commands for this bot are ignored; bad input gets the usage line.

Edits, channel posts and commands addressed to another bot are not commands to us; forged
button data and odd arguments (a zone directory, a 300-character zone, a superscript digit)
must get an answer, never an exception in the handler.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.request import BotSettings
from crackdown.standin import BotApiStandIn
from storage.db import Database
from tests.bot.test_commands import ANN, GROUP, LI, TOPIC, Conversation, store

CHANNEL = -100888


@pytest.fixture
def talk(db: Database, standin: BotApiStandIn) -> Iterator[Conversation]:
    standin.add_user(ANN, "Ann")
    standin.add_user(LI, "Li")
    standin.add_group(GROUP, "Traders", "supergroup", admin_ids=[ANN])
    standin.add_group(CHANNEL, "News", "channel", admin_ids=[ANN])
    yield Conversation(db, standin, BotSettings(default_topic=TOPIC))


def test_an_edited_message_is_not_a_new_command(talk: Conversation, standin: BotApiStandIn) -> None:
    assert talk.say(ANN, "/start")
    assert talk.say(ANN, "binance otc")  # free text: the hint
    before = len(standin.sent_messages())
    standin.edit_text(ANN, "/watch binance")
    talk.say(ANN, "/list")
    assert talk.following(ANN) == [("topic", TOPIC)]  # no watch was added by the edit
    assert len(standin.sent_messages()) == before + 1  # only /list was answered


def test_channel_posts_are_ignored(talk: Conversation, standin: BotApiStandIn) -> None:
    assert talk.say(ANN, "/stop", CHANNEL) == []
    assert talk.say(ANN, "/frobnicate", CHANNEL) == []
    standin.edit_text(ANN, "/start", CHANNEL)
    assert talk.say(ANN, "hello", CHANNEL) == []
    assert standin.sent_messages(CHANNEL) == []
    assert talk.following(CHANNEL) == []


def test_a_forwarded_command_is_not_a_command(talk: Conversation, standin: BotApiStandIn) -> None:
    assert talk.say(ANN, "/start")
    standin.send_text(ANN, "/stop", forwarded_from=LI)  # Li's message, passed on by Ann
    assert talk.say(ANN, "/list") == ["Topics:\n• China crypto enforcement"]
    assert talk.following(ANN) == [("topic", TOPIC)]


def test_commands_for_another_bot_are_ignored(talk: Conversation) -> None:
    assert talk.say(ANN, "/start@other_bot", GROUP) == []
    assert talk.say(ANN, "/frobnicate@other_bot", GROUP) == []
    assert talk.following(GROUP) == []
    assert talk.one(ANN, "/start@crackdown_test_bot", GROUP).startswith("Subscribed")
    assert talk.one(ANN, "/frobnicate@crackdown_test_bot", GROUP).startswith("I don't know")


def test_odd_arguments_get_the_usage_line(talk: Conversation) -> None:
    talk.say(ANN, "/start")
    assert talk.one(ANN, "/tz Asia").startswith("I don't know the time zone")
    assert talk.one(ANN, "/tz " + "A" * 300).startswith("I don't know the time zone")
    assert talk.one(ANN, "/tz ../../../etc/passwd").startswith("I don't know the time zone")
    assert talk.one(ANN, "/tz asia/shanghai").startswith("Time zone set to Asia/Shanghai")
    assert talk.one(ANN, "/latest ²").startswith("Usage: /latest")
    assert talk.one(ANN, "/unwatch ²").startswith("Usage: /unwatch")
    assert talk.one(ANN, "/mute ²h").startswith("Usage: /mute")


def test_forged_button_data_is_answered(
    talk: Conversation, standin: BotApiStandIn, db: Database
) -> None:
    for n in range(7):
        store(db, f"PBoC bans bitcoin OTC trading, part {n}")
    assert talk.say(ANN, "/search bitcoin")
    results = standin.sent_messages(ANN)[-1]
    for data in ("search:²", "search:" + "9" * 5000, "search:-1", "nonsense", "topic:²"):
        answered = len(standin.callback_answers)
        talk.press(ANN, ANN, results.message_id, data)
        assert len(standin.callback_answers) == answered + 1, data
    talk.press(ANN, ANN, results.message_id, "search:2")
    assert standin.sent_messages(ANN)[-1].method == "editMessageText"

"""The stand-in's manual routes (/_sim/...), driven over HTTP as curl would, with the real
handlers answering through the unmodified python-telegram-bot client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.ext import ApplicationBuilder

from bot.handlers import Handlers
from bot.request import BotSettings, Deps
from crackdown.daemon import process_pending_updates
from crackdown.standin import BotApiStandIn
from crawler.matcher import Matcher
from crawler.watchlist import builtin_watchlist
from storage import subscribers
from storage.db import Database
from tests.conftest import TOKEN

TOPIC = "china-crypto-enforcement"
ANN, LI, STRANGER = 7101, 7102, 7103
GROUP = -100300
WATCHLIST = builtin_watchlist()
MATCHER = Matcher(WATCHLIST)


class Operator:
    """Plays the subscribers through /_sim/ while the bot's handlers serve the updates."""

    def __init__(self, db: Database, standin: BotApiStandIn) -> None:
        self.db = db
        self.standin = standin
        self.root = standin.base_url.removesuffix("/bot")
        settings = BotSettings(default_topic=TOPIC, admin_ids=frozenset(), commands_per_minute=60)
        self.handlers = Handlers(Deps(db, WATCHLIST, lambda: MATCHER, settings))

    def sim(self, route: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.root}/_sim/{route}", params=params, timeout=30)

    def ok(self, route: str, **params: Any) -> Any:
        response = self.sim(route, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] is True
        return body["result"]

    async def _serve(self) -> None:
        builder = ApplicationBuilder().token(TOKEN).base_url(self.standin.base_url)
        async with builder.build() as application:
            self.handlers.register(application)
            await process_pending_updates(application)

    def serve(self) -> None:
        asyncio.run(self._serve())

    def waiting(self, route: str, **params: Any) -> Any:
        """A route called with wait=, answered while the bot serves the update meanwhile."""

        async def both() -> Any:
            call = asyncio.ensure_future(asyncio.to_thread(self.ok, route, wait=20, **params))
            while self.standin.pending_updates() == 0 and not call.done():
                await asyncio.sleep(0.02)
            await self._serve()
            return await call

        return asyncio.run(both())

    def following(self, chat: int) -> list[tuple[str, str]]:
        with self.db.session() as session:
            return subscribers.following(session, chat)


@pytest.fixture
def operator(db: Database, standin: BotApiStandIn) -> Iterator[Operator]:
    yield Operator(db, standin)


def test_a_user_set_to_chinese_by_route_is_answered_in_chinese(operator: Operator) -> None:
    user = operator.ok("add_user", user_id=ANN, first_name="Ann")
    assert user["language_code"] == "en"
    assert operator.ok("set_language", user_id=ANN, language_code="zh-hans") == {
        **user,
        "language_code": "zh-hans",
    }
    reply = operator.waiting("send_text", user_id=ANN, text="/start")
    assert reply["chat_id"] == ANN
    (welcome,) = reply["replies"]
    assert welcome["plain_text"].startswith("订阅成功")
    # A name change keeps the language; the user's next update carries both.
    operator.ok("add_user", user_id=ANN, first_name="安")
    operator.ok("send_text", user_id=ANN, text="hello")

    async def last_sender() -> tuple[str, str | None]:
        async with Bot(TOKEN, base_url=operator.standin.base_url) as bot:
            updates = await bot.get_updates()
            sender = updates[-1].message.from_user
            return sender.first_name, sender.language_code

    assert asyncio.run(last_sender()) == ("安", "zh-hans")


def test_a_button_is_pressed_by_its_label_and_the_answer_comes_back(operator: Operator) -> None:
    operator.ok("add_user", user_id=ANN)
    operator.ok("send_text", user_id=ANN, text="/start")
    operator.ok("send_text", user_id=ANN, text="/topics")
    operator.serve()
    (keyboard,) = [m for m in operator.ok("sent", chat_id=ANN) if m["buttons"]]
    assert keyboard["buttons"] == [["✅ China crypto enforcement"]]
    tapped = operator.waiting("press_button", user_id=ANN, button="china CRYPTO")
    assert tapped["message_id"] == keyboard["message_id"]
    assert tapped["data"].endswith(TOPIC) and tapped["answer"] == "◻️"
    assert tapped["buttons"] == [["◻️ China crypto enforcement"]]
    assert operator.following(ANN) == []
    text = operator.sim("sent", chat_id=ANN, last=1, format="text")
    assert text.headers["content-type"].startswith("text/plain")
    assert "[◻️ China crypto enforcement]" in text.text
    # By its data, on a named message: followed again.
    operator.waiting(
        "press_button", user_id=ANN, message_id=keyboard["message_id"], data=tapped["data"]
    )
    assert operator.following(ANN) == [("topic", TOPIC)]


def test_a_group_has_its_admins_and_members_and_no_one_else(operator: Operator) -> None:
    for user_id in (ANN, LI, STRANGER):
        operator.ok("add_user", user_id=user_id, language_code="zh" if user_id == LI else "en")
    group = operator.ok(
        "add_group", chat_id=GROUP, title="交易群", type="supergroup", admins=ANN, members=f"{LI}"
    )
    assert group == {
        "id": GROUP,
        "type": "supergroup",
        "title": "交易群",
        "admins": [ANN],
        "members": [LI],
    }
    member = operator.waiting("send_text", user_id=LI, chat_id=GROUP, text="/start")
    assert [r["plain_text"] for r in member["replies"]] == ["只有本群管理员可以更改本群的订阅。"]
    admin = operator.waiting("send_text", user_id=ANN, chat_id=GROUP, text="/start")
    assert admin["replies"][0]["plain_text"].startswith("Subscribed")
    assert operator.following(GROUP) == [("topic", TOPIC)]
    refused = operator.sim("send_text", user_id=STRANGER, chat_id=GROUP, text="/stop")
    assert refused.status_code == 400
    assert refused.json()["description"] == (
        f"Bad Request: user {STRANGER} is not a member of group {GROUP}"
    )

    async def statuses() -> list[str]:
        async with Bot(TOKEN, base_url=operator.standin.base_url) as bot:
            return [(await bot.get_chat_member(GROUP, u)).status for u in (ANN, LI, STRANGER)]

    assert asyncio.run(statuses()) == ["creator", "member", "left"]


@pytest.mark.parametrize(
    ("route", "params", "status", "description"),
    [
        ("nope", {}, 404, "Not Found: no route /_sim/nope; the routes are /_sim/add_user,"),
        ("send_text", {"user_id": ANN}, 400, "text is required"),
        ("send_text", {"user_id": "ann", "text": "/start"}, 400, "user_id must be an integer"),
        ("send_text", {"user_id": 999, "text": "x"}, 400, "unknown user 999: add it with"),
        ("send_text", {"user_id": ANN, "text": "x", "wait": "soon"}, 400, "wait must be a number"),
        ("send_text", {"user_id": ANN, "text": "x", "wait": 500}, 400, "wait must be 0 to 120"),
        ("send_text", {"user_id": ANN, "text": "x", "chat_id": LI}, 400, "another user's"),
        ("send_text", {"user_id": ANN, "text": "x", "chat_id": -5}, 400, "unknown group -5"),
        ("send_text", {"user_id": ANN, "text": "x", "colour": 1}, 400, "unknown parameter"),
        ("set_language", {"user_id": ANN, "language_code": "中文"}, 400, "a language code"),
        ("add_user", {"user_id": -3}, 400, "user_id must be a positive integer"),
        ("add_group", {"chat_id": 5, "title": "t", "admins": ANN}, 400, "must be negative"),
        ("add_group", {"chat_id": -5, "title": "t"}, 400, "admins is required"),
        ("add_group", {"chat_id": -5, "title": "t", "admins": "a,b"}, 400, "user ids and commas"),
        ("add_group", {"chat_id": -5, "title": "t", "admins": 999}, 400, "unknown user 999"),
        ("add_group", {"chat_id": -5, "title": "t", "admins": ANN, "type": "x"}, 400, "type must"),
        ("add_group", {"chat_id": GROUP, "title": "t", "admins": ANN}, 400, "already exists"),
        ("press_button", {"user_id": ANN, "button": "x"}, 400, "no bot message with buttons"),
        ("press_button", {"user_id": ANN}, 400, "give one of button"),
        ("sent", {"format": "html"}, 400, "format must be json or text"),
    ],
)
def test_bad_input_is_one_json_line_naming_what_is_wrong(
    operator: Operator, route: str, params: dict[str, Any], status: int, description: str
) -> None:
    operator.ok("add_user", user_id=ANN)
    operator.ok("add_user", user_id=LI)
    operator.ok("add_group", chat_id=GROUP, title="Traders", admins=ANN)
    response = operator.sim(route, **params)
    assert response.status_code == status
    body = response.json()
    assert body["ok"] is False and body["error_code"] == status
    assert description in body["description"], body
    assert response.text.endswith("}\n") and response.text.count("\n") == 1


def test_routes_list_themselves(operator: Operator) -> None:
    routes = operator.ok("")
    assert set(routes) >= {
        "/_sim/add_user",
        "/_sim/set_language",
        "/_sim/add_group",
        "/_sim/send_text",
        "/_sim/press_button",
        "/_sim/sent",
        "/_sim/summary",
    }
    assert "button" in routes["/_sim/press_button"]["params"]

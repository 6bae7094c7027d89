"""Every command, driven through the Bot API stand-in by simulated users, with stored state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from telegram.ext import Application, ApplicationBuilder

from bot.handlers import Handlers
from bot.request import BotSettings, Deps
from crackdown.daemon import process_pending_updates
from crackdown.standin import BotApiStandIn
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from crawler.watchlist import builtin_watchlist
from storage import outbox, sources, stories, subscribers
from storage.db import Database
from tests.conftest import TOKEN

TOPIC = "china-crypto-enforcement"
ANN, LI, OPERATOR, STRANGER = 7001, 7002, 7003, 7004
GROUP = -100777
WATCHLIST = builtin_watchlist()
MATCHER = Matcher(WATCHLIST)


class Conversation:
    """Simulated users talking to the real handlers through the stand-in."""

    def __init__(self, db: Database, standin: BotApiStandIn, settings: BotSettings) -> None:
        self.db = db
        self.standin = standin
        labels = {  # as the app gives them: display names per language
            "en": {e.key: e.name_en for e in WATCHLIST.entities},
            "zh": {e.key: e.name_zh for e in WATCHLIST.entities},
        }
        self.handlers = Handlers(Deps(db, WATCHLIST, lambda: MATCHER, settings, labels))

    def _application(self) -> Application:  # type: ignore[type-arg]
        application = ApplicationBuilder().token(TOKEN).base_url(self.standin.base_url).build()
        self.handlers.register(application)
        return application

    async def _process(self) -> None:
        async with self._application() as application:
            await process_pending_updates(application)

    def say(self, user: int, message: str, chat: int | None = None) -> list[str]:
        """What the bot answered (plain text of each new message)."""
        before = len(self.standin.sent_messages())
        self.standin.send_text(user, message, chat)
        asyncio.run(self._process())
        return [m.plain_text for m in self.standin.sent_messages()[before:]]

    def one(self, user: int, message: str, chat: int | None = None) -> str:
        replies = self.say(user, message, chat)
        assert len(replies) == 1, replies
        return replies[0]

    def press(self, user: int, chat: int, message_id: int, data: str) -> None:
        self.standin.press_button(user, chat, message_id, data)
        asyncio.run(self._process())

    def following(self, chat: int) -> list[tuple[str, str]]:
        with self.db.session() as session:
            return subscribers.following(session, chat)


@pytest.fixture
def talk(db: Database, standin: BotApiStandIn) -> Iterator[Conversation]:
    standin.add_user(ANN, "Ann")
    standin.add_user(LI, "李", language_code="zh-hans")
    standin.add_user(OPERATOR, "Op")
    standin.add_user(STRANGER, "Sam")
    standin.add_group(GROUP, "Traders", "supergroup", admin_ids=[ANN])
    settings = BotSettings(
        default_topic=TOPIC, admin_ids=frozenset({OPERATOR}), max_watches=2, commands_per_minute=20
    )
    yield Conversation(db, standin, settings)


def store(db: Database, title: str, summary: str = "") -> None:
    story = normalise(
        RawStory("wire", f"https://wire.example/{abs(hash(title))}", title, summary),
        fetched_at=datetime.now(UTC),
    )
    with db.session() as session:
        sources.sync_sources(session, [("wire", "feed", "https://wire.example/feed")])
        stories.store_story(session, story, MATCHER.match(story))


def test_start_welcomes_in_the_users_language_and_subscribes(talk: Conversation) -> None:
    assert talk.one(ANN, "/start").startswith("Subscribed to “China crypto enforcement”")
    assert talk.one(LI, "/start").startswith("订阅成功")
    assert talk.following(ANN) == [("topic", TOPIC)]
    assert talk.one(ANN, "/start").startswith("You are already subscribed")


def test_follow_resolves_any_alias_and_unknown_names_store_nothing(talk: Conversation) -> None:
    followed = talk.one(ANN, "/follow 支付宝")
    assert followed.startswith("Following Alipay: you get every story that names it")
    assert "/watch alipay AND action" in followed  # how to narrow it
    assert talk.one(ANN, "/follow alipay") == "You already follow Alipay."
    assert talk.one(ANN, "/follow 支付寶") == "You already follow Alipay."  # traditional
    assert talk.one(LI, "/follow Binance").startswith("已关注 币安：凡提到它的新闻都会提醒你")
    assert talk.one(ANN, "/follow Acme Widgets").startswith("I don't know “Acme Widgets”")
    assert talk.one(ANN, "/follow").startswith("Usage: /follow NAME")
    assert talk.following(ANN) == [("entity", "alipay")]
    assert talk.one(ANN, "/unfollow Alipay") == "Stopped following Alipay."
    assert talk.one(ANN, "/unfollow Alipay") == "You don't follow Alipay."
    assert talk.following(ANN) == []


def test_watch_validates_dry_runs_and_numbers_queries(talk: Conversation, db: Database) -> None:
    store(db, "Binance halts OTC desk for Chinese users after PBoC warning")
    store(db, "Binance lists a new token")
    store(db, "Huobi OTC desk under investigation")
    reply = talk.one(ANN, "/watch binance AND OTC")
    assert reply == "Watching: binance AND OTC\nIn the last 7 days it would have matched 1 story."
    broken = talk.one(ANN, '/watch binance AND ("OTC desk" OR')
    assert broken.startswith("That query has an error at character")
    sent = talk.standin.sent_messages()[-1]  # the query and its caret in <pre>: monospaced
    assert sent.parse_mode == "HTML" and "<pre>binance AND (&quot;OTC desk&quot; OR\n" in sent.text
    assert talk.one(LI, "/watch 币安 AND (场外交易 OR") == (
        "查询第 16 个字符处有错误：查询不完整，此处缺少名称、短语或“(”\n"
        "币安 AND (场外交易 OR\n                     ^"
    )
    assert talk.one(ANN, "/watch " + "x" * 5000).startswith("That query is 5000 characters long")
    assert talk.one(ANN, '/watch huobi AND "OTC desk"').endswith("matched 1 story.")
    assert talk.one(ANN, "/watch okx").startswith("This chat already has 2 queries")
    assert talk.following(ANN) == [
        ("query", "binance AND OTC"),
        ("query", 'huobi AND "OTC desk"'),
    ]
    listing = talk.one(ANN, "/list")
    assert '1. binance AND OTC\n2. huobi AND "OTC desk"' in listing
    assert talk.one(ANN, "/unwatch 3").startswith("Usage: /unwatch N")
    assert talk.one(ANN, "/unwatch 1") == "Removed query: binance AND OTC"
    assert talk.following(ANN) == [("query", 'huobi AND "OTC desk"')]


def test_list_shows_topics_entities_and_queries(talk: Conversation) -> None:
    assert talk.one(ANN, "/list").startswith("This chat follows nothing")
    talk.say(ANN, "/start")
    talk.say(ANN, "/follow PBoC")
    talk.say(ANN, "/watch tether AND freeze")
    assert talk.one(ANN, "/list") == (
        "Topics:\n• China crypto enforcement\nFollowing:\n• PBoC\n"
        "Queries (/unwatch N removes one):\n1. tether AND freeze"
    )


def test_lang_switches_replies(talk: Conversation) -> None:
    talk.say(ANN, "/start")
    assert talk.one(ANN, "/lang zh") == "我会用中文回复。"
    assert talk.one(ANN, "/follow Alipay").startswith("已关注 支付宝")
    assert talk.one(ANN, "/lang fr") == "用法：/lang en 或 /lang zh"


def test_stop_deletes_the_chats_data(talk: Conversation, db: Database) -> None:
    talk.say(ANN, "/start")
    talk.say(ANN, "/follow Alipay")
    assert talk.one(ANN, "/stop").startswith("Unsubscribed, and everything we held")
    with db.session() as session:
        assert subscribers.language(session, ANN) is None  # no row left
    assert talk.one(ANN, "/stop").startswith("You were not subscribed")


def test_in_groups_only_admins_change_subscriptions(talk: Conversation) -> None:
    assert talk.one(STRANGER, "/follow Alipay", GROUP).startswith("Only this group's admins")
    assert talk.following(GROUP) == []
    assert talk.one(ANN, "/follow@crackdown_test_bot Alipay", GROUP).startswith("Following")
    assert talk.one(STRANGER, "/list", GROUP).startswith("Following:")  # reading is fine
    assert talk.following(GROUP) == [("entity", "alipay")]


def test_topics_keyboard_toggles(talk: Conversation, standin: BotApiStandIn) -> None:
    talk.say(ANN, "/start")
    talk.say(ANN, "/topics")
    menu = standin.sent_messages(ANN)[-1]
    assert menu.plain_text.startswith("Tap a topic")
    talk.press(ANN, ANN, menu.message_id, f"topic:{TOPIC}")
    assert talk.following(ANN) == []
    keyboard = standin.state.messages[(ANN, menu.message_id)].reply_markup or {}
    assert keyboard["inline_keyboard"][0][0]["text"] == "◻️ China crypto enforcement"
    talk.press(ANN, ANN, menu.message_id, f"topic:{TOPIC}")
    assert talk.following(ANN) == [("topic", TOPIC)]
    assert len(standin.callback_answers) == 2  # every tap is answered (no spinning button)
    assert talk.say(STRANGER, "/topics", GROUP)  # anyone may look at a group's topics...
    group_menu = standin.sent_messages(GROUP)[-1]
    assert group_menu.plain_text.startswith("Tap a topic")
    talk.press(STRANGER, GROUP, group_menu.message_id, f"topic:{TOPIC}")
    assert talk.following(GROUP) == []  # ...but only admins may change them
    assert standin.callback_answers[-1].get("show_alert") in (True, "true", "True")


def test_latest_lists_matched_stories_only(talk: Conversation, db: Database) -> None:
    assert talk.one(ANN, "/latest") == "No matched stories yet."
    store(db, "PBoC bans bitcoin OTC trading")
    store(db, "Weather report for Beijing")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert talk.one(ANN, "/latest").splitlines() == [
        f"1. PBoC bans bitcoin OTC trading · wire · {today}",
        "   ⚖ ban · by PBoC",  # what happened and who acted, as the alert said it
    ]
    assert talk.one(LI, "/latest").splitlines()[1] == "   ⚖ 禁令 · 执行方：中国人民银行"
    assert talk.one(ANN, "/latest 500").startswith("Usage: /latest")


def test_operator_commands_are_for_operators_only(talk: Conversation, db: Database) -> None:
    talk.say(ANN, "/start")
    assert talk.one(ANN, "/stats").startswith("I don't know that command")
    store(db, "PBoC bans bitcoin OTC trading")
    assert talk.one(OPERATOR, "/stats").startswith(
        "Chats: 1 active, 0 inactive\nStories today: 1, matched"
    )
    assert talk.one(OPERATOR, "/pause wire") == "Paused wire: it will not be polled."
    with db.session() as session:
        assert sources.claim_due(session, ["wire"], datetime.now(UTC), timedelta(0)) == []
    assert talk.one(OPERATOR, "/resume wire") == "Resumed wire."
    with db.session() as session:
        assert sources.claim_due(session, ["wire"], datetime.now(UTC), timedelta(0)) == ["wire"]
    assert talk.one(OPERATOR, "/pause nope").startswith("No source “nope”")
    assert talk.one(OPERATOR, "/sources").startswith("✅ wire")
    assert talk.one(OPERATOR, "/broadcast Maintenance <tonight>") == "Queued for 1 chat."
    with db.session() as session:
        assert outbox.counts(session).pending == 2  # the story's alert and the broadcast


def test_a_flooding_chat_is_ignored_and_others_are_served(talk: Conversation) -> None:
    talk.handlers = Handlers(
        replace(
            talk.handlers.deps, settings=replace(talk.handlers.deps.settings, commands_per_minute=3)
        )
    )
    replies = [talk.say(ANN, "/help") for _ in range(5)]
    assert [len(r) for r in replies] == [1, 1, 1, 0, 0]
    assert talk.one(LI, "/help").startswith("/start")


def test_unknown_commands_and_free_text_get_a_hint(talk: Conversation) -> None:
    assert talk.one(ANN, "/frobnicate").startswith("I don't know that command")
    assert talk.one(ANN, "alipay otc ban").startswith(
        "I answer commands only. To search stored stories: /search alipay otc ban"
    )
    assert talk.one(LI, "支付宝").startswith("我只回应命令。搜索已存的新闻：/search 支付宝")
    assert talk.one(LI, "/frobnicate") == "未知命令。/help 查看可用命令。"


def test_mute_quiet_and_tz_are_validated_and_stored(talk: Conversation, db: Database) -> None:
    assert talk.one(ANN, "/mute 2h").startswith("You were not subscribed")  # nothing stored
    talk.say(ANN, "/start")
    assert talk.one(ANN, "/tz Mars/Olympus").startswith("I don't know the time zone")
    assert talk.one(ANN, "/tz Asia/Shanghai").startswith("Time zone set to Asia/Shanghai")
    assert talk.one(ANN, "/quiet 25:00-07:00").startswith("Usage: /quiet")
    assert talk.one(ANN, "/quiet 23:00-07:00") == (
        "Quiet hours 23:00-07:00 (Asia/Shanghai): alerts are held until 07:00."
    )
    with db.session() as session:
        assert subscribers.preferences(session, ANN) == ("Asia/Shanghai", 23 * 60, 7 * 60)
    assert talk.one(ANN, "/mute forever").startswith("Usage: /mute")
    assert talk.one(ANN, "/mute 31d").startswith("Usage: /mute")
    assert talk.one(ANN, "/mute 5m").startswith("Usage: /mute")  # 30m to 30d, as it says
    assert talk.one(ANN, "/mute 2h").startswith("Muted until")
    assert talk.one(ANN, "/unmute") == "Unmuted."
    assert talk.one(ANN, "/quiet off") == "Quiet hours off."
    with db.session() as session:
        assert subscribers.preferences(session, ANN) == ("Asia/Shanghai", None, None)


def test_digest_modes(talk: Conversation, db: Database) -> None:
    talk.say(ANN, "/start")
    assert talk.one(ANN, "/digest weekly").startswith("Usage: /digest")
    assert talk.one(ANN, "/digest daily 8am").startswith("Usage: /digest")
    assert talk.one(ANN, "/digest daily 08:00") == (
        "Daily digest at 08:00 (UTC): alerts are collected and sent together then."
    )
    assert talk.one(ANN, "/digest hourly").startswith("Hourly digest")
    assert talk.one(ANN, "/digest off").startswith("Digest off")


def test_settings_and_bare_tz_quiet_digest_show_the_current_values(talk: Conversation) -> None:
    assert talk.one(ANN, "/settings").startswith("You were not subscribed")
    talk.say(ANN, "/start")
    assert talk.one(ANN, "/tz").startswith("Your time zone is UTC (it is ")
    assert talk.one(ANN, "/quiet").startswith("No quiet hours.")
    assert talk.one(ANN, "/digest").startswith("Digest: off.")
    talk.say(ANN, "/tz Asia/Shanghai")
    talk.say(ANN, "/quiet 23:00-07:00")
    talk.say(ANN, "/digest daily 08:00")
    talk.say(ANN, "/follow alipay")
    talk.say(ANN, "/mute 2h")
    assert talk.one(ANN, "/quiet").startswith("Quiet hours 23:00-07:00 (Asia/Shanghai).")
    assert talk.one(ANN, "/digest").startswith("Digest: daily at 08:00 (Asia/Shanghai).")
    lines = talk.one(ANN, "/settings").splitlines()
    assert lines[0] == "Your settings"
    assert lines[1:3] == ["Language: en (/lang)", "Time zone: Asia/Shanghai (/tz)"]
    assert lines[3] == "Quiet hours: 23:00-07:00 (/quiet)"
    assert lines[4].startswith("Mute: until ")
    assert lines[5] == "Digest: daily at 08:00 (Asia/Shanghai) (/digest)"
    assert lines[6] == "Every source: off (/everysource)"
    assert lines[7] == "Following: topics 1, names 1, queries 0 (/list)"
    talk.say(LI, "/start")
    assert talk.one(LI, "/settings").startswith("你的设置\n语言：zh")

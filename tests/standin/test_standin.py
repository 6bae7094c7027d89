"""The Bot API stand-in, driven by the real python-telegram-bot client and raw httpx."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from crackdown.standin import ApiError, BotApiStandIn
from crackdown.standin.html_entities import EntityParseError, parse_html
from crackdown.standin.methods import Params

TOKEN = "123:ABC"
USER = 1001


@pytest.fixture
def tg() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN) as standin:
        standin.add_user(USER, "Ann", username="ann")
        yield standin


def bot_for(tg: BotApiStandIn, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=tg.base_url)


def api(tg: BotApiStandIn, method: str, **kwargs: Any) -> httpx.Response:
    """Raw call, as curl would do it."""
    with httpx.Client() as client:
        return client.post(f"{tg.base_url}{TOKEN}/{method}", **kwargs)


# 1 -------------------------------------------------------------------------------------------
def test_get_me_returns_configured_bot_and_wrong_token_is_rejected() -> None:
    async def scenario(tg: BotApiStandIn) -> None:
        async with bot_for(tg) as bot:
            me = await bot.get_me()
            assert (me.username, me.id, me.is_bot) == ("newsbot", 42, True)
        with pytest.raises(InvalidToken, match="rejected by the server"):
            async with bot_for(tg, "123:WRONG"):  # initialize() calls getMe
                pass

    with BotApiStandIn(TOKEN, bot_username="newsbot", bot_id=42) as tg:
        asyncio.run(scenario(tg))
        assert [m for m, _ in tg.request_log] == ["getMe", "getMe", "getMe"]


def test_raw_http_status_codes_and_body_formats(tg: BotApiStandIn) -> None:
    with httpx.Client() as client:
        wrong = client.get(f"{tg.base_url}999:NOPE/getMe")
        assert (wrong.status_code, wrong.json()["description"]) == (401, "Unauthorized")
        assert client.get(f"{tg.base_url}{TOKEN}/noSuchMethod").status_code == 404
        by_query = client.get(
            f"{tg.base_url}{TOKEN}/sendMessage", params={"chat_id": USER, "text": "q"}
        )
    by_json = api(
        tg, "sendMessage", json={"chat_id": USER, "text": "<i>j</i>", "parse_mode": "HTML"}
    )
    by_multipart = api(tg, "sendMessage", files={"chat_id": (None, str(USER)), "text": (None, "m")})
    assert by_query.json()["result"]["text"] == "q"
    assert by_json.json()["result"]["entities"] == [{"type": "italic", "offset": 0, "length": 1}]
    assert by_multipart.json()["result"]["message_id"] == 3
    assert [m.plain_text for m in tg.sent_messages(USER)] == ["q", "j", "m"]


# 2 -------------------------------------------------------------------------------------------
def test_user_command_arrives_via_get_updates_and_offset_confirms(tg: BotApiStandIn) -> None:
    update_id = tg.send_text(USER, "/start")

    async def scenario() -> None:
        async with bot_for(tg) as bot:
            (update,) = await bot.get_updates()
            assert update.update_id == update_id
            assert update.message.text == "/start"
            assert update.message.from_user.first_name == "Ann"
            assert update.message.entities[0].type == "bot_command"
            assert update.message.entities[0].length == len("/start")
            assert await bot.get_updates() != ()  # unconfirmed: delivered again
            assert await bot.get_updates(offset=update.update_id + 1) == ()
            assert tg.pending_updates() == 0

    asyncio.run(scenario())


def test_update_ids_increase_and_bot_suffix_is_part_of_command(tg: BotApiStandIn) -> None:
    first = tg.send_text(USER, "/list@crackdown_bot now")
    second = tg.send_text(USER, "plain text")
    assert second == first + 1
    (update_json, plain_json) = api(tg, "getUpdates").json()["result"]
    assert update_json["message"]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": len("/list@crackdown_bot")}
    ]
    assert "entities" not in plain_json["message"]


# 3 -------------------------------------------------------------------------------------------
def test_long_poll_returns_promptly_when_a_message_arrives(tg: BotApiStandIn) -> None:
    async def scenario() -> tuple[float, tuple[Update, ...]]:
        async with bot_for(tg) as bot:
            started = time.monotonic()
            poll = asyncio.create_task(bot.get_updates(timeout=5))
            await asyncio.sleep(0.3)
            assert not poll.done()  # really waiting server-side
            await bot.send_message(USER, "server still answers during the long poll")
            tg.send_text(USER, "hello")
            updates = await poll
            return time.monotonic() - started, updates

    elapsed, updates = asyncio.run(scenario())
    assert elapsed < 2.0
    assert [u.message.text for u in updates] == ["hello"]


def test_newer_get_updates_terminates_older_with_conflict(tg: BotApiStandIn) -> None:
    async def scenario() -> None:
        async with bot_for(tg) as first, bot_for(tg) as second:
            old = asyncio.create_task(first.get_updates(timeout=5))
            await asyncio.sleep(0.2)
            await second.get_updates(timeout=0)
            with pytest.raises(Conflict, match="only one bot instance"):
                await old

    asyncio.run(scenario())


def test_stop_wakes_a_pending_long_poll() -> None:
    tg = BotApiStandIn(TOKEN).start()
    result: dict[str, Any] = {}

    def poll() -> None:
        with httpx.Client(timeout=10) as client:
            started = time.monotonic()
            response = client.get(f"{tg.base_url}{TOKEN}/getUpdates", params={"timeout": 8})
            result.update(elapsed=time.monotonic() - started, body=response.json())

    worker = threading.Thread(target=poll)
    worker.start()
    time.sleep(0.3)
    tg.stop()
    tg.stop()  # idempotent
    worker.join(timeout=5)
    assert result["body"] == {"ok": True, "result": []}
    assert result["elapsed"] < 3


# 4 -------------------------------------------------------------------------------------------
def test_send_message_html_is_recorded_with_plain_text(tg: BotApiStandIn) -> None:
    html = '<b>Alert</b> &amp; <a href="https://x.example/?a=1&amp;b=2">story</a> 😀<i>x</i>'

    async def scenario() -> None:
        async with bot_for(tg) as bot:
            msg = await bot.send_message(
                USER, html, parse_mode="HTML", disable_web_page_preview=True
            )
            assert msg.text == "Alert & story 😀x"
            assert msg.parse_entity(msg.entities[-1]) == "x"  # UTF-16 offsets, as PTB expects
            assert msg.entities[1].url == "https://x.example/?a=1&b=2"

    asyncio.run(scenario())
    (sent,) = tg.sent_messages(USER)
    assert (sent.text, sent.plain_text, sent.parse_mode) == (html, "Alert & story 😀x", "HTML")
    assert (sent.method, sent.message_id, sent.disable_web_page_preview) == ("sendMessage", 1, True)


@pytest.mark.parametrize(
    ("chat_id", "text", "error", "match"),
    [
        (USER, "<b>unclosed", BadRequest, "can't parse entities"),
        (USER, "<foo>x</foo>", BadRequest, "can't parse entities: Unsupported start tag"),
        (USER, "a < b", BadRequest, "can't parse entities"),
        (USER, "x" * 4097, BadRequest, "too long"),
        (USER, "<b> </b>", BadRequest, "message text is empty"),
        (999, "hi", BadRequest, "chat not found"),
        (-555, "hi", BadRequest, "chat not found"),
        (2002, "hi", Forbidden, "blocked by the user"),
    ],
)
def test_send_message_errors(
    tg: BotApiStandIn, chat_id: int, text: str, error: type[Exception], match: str
) -> None:
    tg.add_user(2002, "Bob")
    tg.block(2002)

    async def scenario() -> None:
        async with bot_for(tg) as bot:
            with pytest.raises(error, match=f"(?i){match}"):
                await bot.send_message(chat_id, text, parse_mode="HTML")
            await bot.send_message(USER, "x" * 4096)  # the limit itself is fine

    asyncio.run(scenario())
    assert [len(m.plain_text) for m in tg.sent_messages()] == [4096]


def test_user_writing_again_unblocks_and_block_sends_my_chat_member(tg: BotApiStandIn) -> None:
    tg.block(USER)
    assert api(tg, "sendMessage", data={"chat_id": USER, "text": "x"}).status_code == 403
    tg.send_text(USER, "/start")
    assert api(tg, "sendMessage", data={"chat_id": USER, "text": "x"}).status_code == 200
    kinds = [next(k for k in u if k != "update_id") for u in api(tg, "getUpdates").json()["result"]]
    assert kinds == ["my_chat_member", "my_chat_member", "message"]


def test_interceptor_hook_injects_flood_limit_seen_by_ptb(
    tg: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22.8 warns (PTBDeprecationWarning) inside RetryAfter() unless timedeltas are opted in.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")

    def flood(method: str, params: Params) -> None:
        if method == "sendMessage" and params.text("text") == "spam":
            raise ApiError(429, "Too Many Requests: retry after 3", {"retry_after": 3})

    tg.state.interceptors.append(flood)

    async def scenario() -> None:
        async with bot_for(tg) as bot:
            with pytest.raises(RetryAfter, match="Flood control exceeded") as caught:
                await bot.send_message(USER, "spam")
            assert caught.value.retry_after.total_seconds() == 3
            await bot.send_message(USER, "fine")

    asyncio.run(scenario())
    assert [m.plain_text for m in tg.sent_messages()] == ["fine"]


# 5 -------------------------------------------------------------------------------------------
def test_edit_message_text_changes_record_and_identical_edit_fails(tg: BotApiStandIn) -> None:
    async def scenario() -> None:
        async with bot_for(tg) as bot:
            msg = await bot.send_message(USER, "<b>v1</b>", parse_mode="HTML")
            edited = await bot.edit_message_text(
                "<b>v2</b>", USER, msg.message_id, parse_mode="HTML"
            )
            assert (edited.text, edited.message_id) == ("v2", msg.message_id)
            assert edited.edit_date is not None
            with pytest.raises(BadRequest, match=r"(?i)not modified"):
                await bot.edit_message_text("<b>v2</b>", USER, msg.message_id, parse_mode="HTML")
            with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
                await bot.edit_message_text("v3", USER, 999)

    asyncio.run(scenario())
    assert [(m.method, m.plain_text) for m in tg.sent_messages(USER)] == [
        ("sendMessage", "v1"),
        ("editMessageText", "v2"),
    ]


def test_button_press_reaches_bot_and_can_be_answered_once(tg: BotApiStandIn) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Mute", callback_data="mute:1")]])

    async def scenario() -> None:
        async with bot_for(tg) as bot:
            msg = await bot.send_message(USER, "alert", reply_markup=keyboard)
            assert msg.reply_markup == keyboard
            tg.press_button(USER, USER, msg.message_id, "mute:1")
            (update,) = await bot.get_updates()
            query = update.callback_query
            assert (query.data, query.message.message_id) == ("mute:1", msg.message_id)
            assert await bot.answer_callback_query(query.id, "Muted")
            with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
                await bot.answer_callback_query(query.id)

    asyncio.run(scenario())
    assert tg.callback_answers[0]["text"] == "Muted"


# 6 -------------------------------------------------------------------------------------------
def test_full_application_replies_to_start(tg: BotApiStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Welcome</b>, Ann!")

    async def scenario() -> None:
        app = Application.builder().token(TOKEN).base_url(tg.base_url).build()
        app.add_handler(CommandHandler("start", start))
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            tg.send_text(USER, "/start")
            await asyncio.to_thread(tg.wait_for_messages, 1, USER, 5.0)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()

    asyncio.run(scenario())
    (reply,) = tg.sent_messages(USER)
    assert (reply.plain_text, reply.parse_mode) == ("Welcome, Ann!", "HTML")
    assert tg.pending_updates() == 0  # Updater.stop() confirmed the /start update


def test_wait_for_messages_times_out_with_a_clear_error(tg: BotApiStandIn) -> None:
    with pytest.raises(TimeoutError, match="expected 1 message"):
        tg.wait_for_messages(1, chat_id=USER, timeout=0.1)


# 7 -------------------------------------------------------------------------------------------
def test_set_my_commands_per_language_is_stored(tg: BotApiStandIn) -> None:
    async def scenario() -> None:
        async with bot_for(tg) as bot:
            await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh")
            await bot.set_my_commands([BotCommand("start", "Start")])
            assert (await bot.get_my_commands(language_code="zh"))[0].description == "开始"
            with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
                await bot.set_my_commands([BotCommand("Bad-Name", "x")])

    asyncio.run(scenario())
    assert tg.commands == {
        ('{"type":"default"}', "zh"): [{"command": "start", "description": "开始"}],
        ('{"type":"default"}', ""): [{"command": "start", "description": "Start"}],
    }


def test_get_chat_and_member_statuses(tg: BotApiStandIn) -> None:
    tg.add_user(2002, "Bob")
    tg.add_user(3003, "Cy")
    tg.add_group(-100123, "Watchers", "supergroup", admin_ids=[USER, 2002])

    async def scenario() -> None:
        async with bot_for(tg) as bot:
            assert (await bot.get_chat(-100123)).title == "Watchers"
            statuses = [
                (await bot.get_chat_member(-100123, uid)).status for uid in (USER, 2002, 3003)
            ]
            assert statuses == ["creator", "administrator", "member"]
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await bot.get_chat(-1)

    asyncio.run(scenario())


# 8 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("html", "plain", "entities"),
    [
        ("plain", "plain", []),
        ("<b>a<i>b</i></b>c", "abc", [("bold", 0, 2, {}), ("italic", 1, 1, {})]),
        (
            "<strong>s</strong><em>e</em><ins>u</ins><del>d</del>",
            "seud",
            [
                ("bold", 0, 1, {}),
                ("italic", 1, 1, {}),
                ("underline", 2, 1, {}),
                ("strikethrough", 3, 1, {}),
            ],
        ),
        (
            '<a href="https://e.com/?q=1&amp;r=2">link</a>',
            "link",
            [("text_link", 0, 4, {"url": "https://e.com/?q=1&r=2"})],
        ),
        ("&lt;tag&gt; &amp; &quot;q&quot; &#65;&#x42;", '<tag> & "q" AB', []),
        ("AT&T & co", "AT&T & co", []),
        ("😀<u>x</u>", "😀x", [("underline", 2, 1, {})]),  # emoji = 2 UTF-16 units
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            [("spoiler", 0, 1, {}), ("spoiler", 1, 1, {})],
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [("pre", 0, 5, {"language": "python"})],
        ),
        ("<code>c</code>", "c", [("code", 0, 1, {})]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1, {})]),
        (
            '<tg-emoji emoji-id="5368">👍</tg-emoji>',
            "👍",
            [("custom_emoji", 0, 2, {"custom_emoji_id": "5368"})],
        ),
        ("<b></b>x", "x", []),  # empty entities are dropped
        ("line1\n<B>line2</B>", "line1\nline2", [("bold", 6, 5, {})]),
    ],
)
def test_parse_html(html: str, plain: str, entities: list[tuple[str, int, int, dict]]) -> None:
    expected = [{"type": t, "offset": o, "length": n, **extra} for t, o, n, extra in entities]
    assert parse_html(html) == (plain, expected)


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("é<blink>", 'Unsupported start tag "blink" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("a < b", "byte offset 2"),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"'),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
        ("<br/>", 'Unsupported start tag "br"'),
        ("a</>b", "byte offset 1"),
        ("<!-- c -->", "Unsupported start tag"),
    ],
)
def test_parse_html_errors(html: str, message: str) -> None:
    with pytest.raises(EntityParseError, match=message.replace("(", r"\(")):
        parse_html(html)

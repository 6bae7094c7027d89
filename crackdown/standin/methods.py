"""Bot API method implementations over ``TelegramState`` plus the single dispatch point.

Each method takes ``(state, params)`` and returns the ``result`` value or raises ApiError,
mirroring Telegram's descriptions so that code matching on them behaves as in production.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from crackdown.standin.html_entities import EntityParseError, parse_html
from crackdown.standin.state import JSON, ApiError, SentMessage, StoredMessage, TelegramState

_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SCOPES = {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
}
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

Method = Callable[[TelegramState, "Params"], Any]
METHODS: dict[str, Method] = {}  # lower-case name -> implementation (Telegram ignores case)


class Params:
    """Request parameters from a form, query string or JSON body.

    Form values are always strings (PTB JSON-encodes objects and lists), JSON bodies carry
    real types; the accessors accept both so curl users and PTB get the same behaviour.
    """

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int | None:
        return None if name not in self else self._convert(name, int)

    def number(self, name: str) -> float | None:
        return None if name not in self else self._convert(name, float)

    def _convert(self, name: str, kind: type[Any]) -> Any:
        try:
            return kind(self.raw[name])
        except (TypeError, ValueError):
            raise ApiError(400, f'Bad Request: wrong parameter "{name}" type') from None

    def flag(self, name: str) -> bool:
        return self.raw.get(name) in (True, 1, "true", "True", "1")

    def obj(self, name: str) -> Any:
        value = self.raw.get(name)
        if isinstance(value, str) and value:
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
        return value or None


def handle(state: TelegramState, method: str, params: Params) -> tuple[int, JSON]:
    """Run one Bot API call; returns (HTTP status, JSON body) exactly as Telegram would."""
    impl = METHODS.get(method.lower())
    if impl is None:
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
    try:
        # Fault injection point: flood limits (429 + parameters.retry_after), injected 5xx,
        # slow responses and chat migrations (400 + parameters.migrate_to_chat_id) are
        # interceptors that raise ApiError (or sleep) here, before the method runs.
        for interceptor in list(state.interceptors):
            interceptor(method, params)
        result = impl(state, params)
    except ApiError as err:
        return err.status, err.payload()
    return 200, {"ok": True, "result": result}


def _method(name: str) -> Callable[[Method], Method]:
    def register(impl: Method) -> Method:
        METHODS[name.lower()] = impl
        return impl

    return register


def _chat_id(state: TelegramState, p: Params) -> int:
    if "chat_id" not in p:
        raise ApiError(400, "Bad Request: chat_id is empty")
    return state.resolve_chat(p.raw["chat_id"])


@_method("getMe")
def get_me(state: TelegramState, p: Params) -> JSON:
    return {
        **state.bot_json(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@_method("getUpdates")
def get_updates(state: TelegramState, p: Params) -> list[JSON]:
    offset = p.integer("offset")
    limit = min(max(p.integer("limit") or 100, 1), 100)
    deadline = time.monotonic() + max(p.number("timeout") or 0.0, 0.0)
    allowed = p.obj("allowed_updates")
    with state.cond:
        state.poll_generation += 1
        generation = state.poll_generation
        state.cond.notify_all()  # an older long poll must now end with 409 Conflict
        if allowed is not None:
            state.allowed_updates = set(allowed) or None  # [] restores the default set
        if offset is not None and offset < 0:
            state.updates = state.updates[offset:]  # -N: forget all but the last N
        elif offset:
            state.updates = [u for u in state.updates if u["update_id"] >= offset]
        while True:
            if generation != state.poll_generation:
                raise ApiError(409, _CONFLICT)
            remaining = deadline - time.monotonic()
            if state.updates or state.closed or remaining <= 0:
                return state.updates[:limit]
            state.cond.wait(remaining)


@_method("deleteWebhook")
def delete_webhook(state: TelegramState, p: Params) -> bool:
    if p.flag("drop_pending_updates"):
        with state.cond:
            state.updates.clear()
    return True


@_method("getWebhookInfo")
def get_webhook_info(state: TelegramState, p: Params) -> JSON:
    return {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": state.pending_updates(),
    }


def _commands_key(p: Params) -> tuple[str, str]:
    scope = p.obj("scope") or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise ApiError(400, "Bad Request: wrong scope type specified")
    language = p.text("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise ApiError(400, "Bad Request: invalid language code specified")
    return json.dumps(scope, sort_keys=True, separators=(",", ":")), language


@_method("setMyCommands")
def set_my_commands(state: TelegramState, p: Params) -> bool:
    commands = p.obj("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise ApiError(400, "Bad Request: commands must be a list of at most 100 BotCommand")
    cleaned = []
    for cmd in commands:
        if not isinstance(cmd, dict):
            raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
        name, desc = str(cmd.get("command", "")), str(cmd.get("description", ""))
        if not _COMMAND_NAME_RE.match(name):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(desc) <= 256:
            raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": name, "description": desc})
    key = _commands_key(p)
    with state.cond:
        if cleaned:
            state.commands[key] = cleaned
        else:
            state.commands.pop(key, None)
    return True


@_method("getMyCommands")
def get_my_commands(state: TelegramState, p: Params) -> list[JSON]:
    with state.cond:
        return list(state.commands.get(_commands_key(p), []))


@_method("deleteMyCommands")
def delete_my_commands(state: TelegramState, p: Params) -> bool:
    with state.cond:
        state.commands.pop(_commands_key(p), None)
    return True


def _render(state: TelegramState, p: Params) -> tuple[str, str, list[JSON], str | None]:
    """(source, plain_text, entities, parse_mode) with Telegram's validation."""
    source = p.text("text") or ""
    parse_mode = p.text("parse_mode") or None
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            plain, entities = parse_html(source)
        except EntityParseError as err:
            raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
    elif not mode:
        plain, entities = source, list(p.obj("entities") or [])
    elif mode in ("markdown", "markdownv2"):
        raise ApiError(400, "Bad Request: the stand-in implements only parse_mode HTML")
    else:
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    if not plain.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(plain) > state.max_text_length:
        raise ApiError(400, "Bad Request: message is too long")
    return source, plain, entities, parse_mode


def _reply_markup(p: Params) -> JSON | None:
    markup = p.obj("reply_markup")
    if markup is not None and not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if not button.get("text") or (
                data is not None and not 1 <= len(str(data).encode()) <= 64
            ):  # Telegram's 64-byte callback_data limit
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _preview_disabled(p: Params) -> bool:
    options = p.obj("link_preview_options")
    return bool(isinstance(options, dict) and options.get("is_disabled")) or p.flag(
        "disable_web_page_preview"
    )


@_method("sendMessage")
def send_message(state: TelegramState, p: Params) -> JSON:
    chat_id = _chat_id(state, p)
    state.ensure_can_post(chat_id)
    source, plain, entities, parse_mode = _render(state, p)
    markup = _reply_markup(p)
    reply = p.obj("reply_parameters")
    reply = reply if isinstance(reply, dict) else {}
    with state.cond:
        if (
            reply
            and (chat_id, int(reply.get("message_id", 0))) not in state.messages
            and (not reply.get("allow_sending_without_reply"))
        ):
            raise ApiError(400, "Bad Request: message to be replied not found")
        group = state.groups.get(chat_id)
        sender = None if group and group.chat_type == "channel" else state.bot_json()
        msg = state.store_message(
            chat_id,
            from_bot=True,
            sender=sender,
            text=plain,
            entities=entities,
            reply_markup=markup,
        )
        _record(state, p, chat_id, msg.message_id, (source, plain, parse_mode), "sendMessage")
        return state.message_json(msg)


def _record(
    state: TelegramState,
    p: Params,
    chat_id: int,
    message_id: int,
    text: tuple[str, str, str | None],
    method: str,
) -> None:
    """Add a send or an edit to the record tests read."""
    source, plain, parse_mode = text
    state.record(
        SentMessage(
            chat_id,
            message_id,
            source,
            plain,
            parse_mode,
            method,
            time.time(),
            _preview_disabled(p),
        )
    )


def _editable(state: TelegramState, p: Params) -> tuple[int, StoredMessage]:
    """The bot's own message an edit names (call with state.cond held); 400s like Telegram."""
    if "inline_message_id" in p:
        raise ApiError(400, "Bad Request: message to edit not found")  # not simulated
    chat_id = _chat_id(state, p)
    state.ensure_can_post(chat_id)  # before the lookup: a migrated chat's edits fail with 400
    message_id = p.integer("message_id")
    if message_id is None:
        raise ApiError(400, "Bad Request: message identifier is not specified")
    msg = state.messages.get((chat_id, message_id))
    if msg is None:
        raise ApiError(400, "Bad Request: message to edit not found")
    if not msg.from_bot:
        raise ApiError(400, "Bad Request: message can't be edited")
    return chat_id, msg


@_method("editMessageText")
def edit_message_text(state: TelegramState, p: Params) -> JSON:
    with state.cond:
        chat_id, msg = _editable(state, p)
        message_id = msg.message_id
        source, plain, entities, parse_mode = _render(state, p)
        markup = _reply_markup(p)
        if (plain, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current content "
                "and reply markup of the old message",
            )
        msg.text, msg.entities, msg.reply_markup = plain, entities, markup
        msg.edit_date = int(time.time())
        _record(state, p, chat_id, message_id, (source, plain, parse_mode), "editMessageText")
        return state.message_json(msg)


@_method("editMessageReplyMarkup")
def edit_message_reply_markup(state: TelegramState, p: Params) -> JSON:
    """Replace only the inline keyboard of one of the bot's messages (text unchanged)."""
    with state.cond:
        _chat, msg = _editable(state, p)
        markup = _reply_markup(p)
        if markup == msg.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current content "
                "and reply markup of the old message",
            )
        msg.reply_markup = markup
        msg.edit_date = int(time.time())
        return state.message_json(msg)


@_method("answerCallbackQuery")
def answer_callback_query(state: TelegramState, p: Params) -> bool:
    query_id = p.text("callback_query_id") or ""
    with state.cond:
        if query_id not in state.open_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        state.open_callbacks.discard(query_id)
        state.callback_answers.append(
            {
                "callback_query_id": query_id,
                "text": p.text("text"),
                "show_alert": p.flag("show_alert"),
            }
        )
    return True


@_method("sendChatAction")
def send_chat_action(state: TelegramState, p: Params) -> bool:
    state.ensure_can_post(_chat_id(state, p))
    if "action" not in p:
        raise ApiError(400, "Bad Request: action is empty")
    return True


@_method("getChat")
def get_chat(state: TelegramState, p: Params) -> JSON:
    gifts = dict.fromkeys(
        (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        ),
        False,
    )
    return {
        **state.chat_json(_chat_id(state, p)),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": gifts,
    }


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


@_method("getChatMember")
def get_chat_member(state: TelegramState, p: Params) -> JSON:
    chat_id = _chat_id(state, p)
    user_id = p.integer("user_id")
    with state.cond:
        if user_id == state.bot_id:
            return {"status": "member", "user": state.bot_json()}
        if user_id not in state.users or (chat_id > 0 and chat_id != user_id):
            raise ApiError(400, "Bad Request: user not found")
        user = state.users[user_id].to_json()
        group = state.groups.get(chat_id)
        admins = group.admin_ids if group is not None else ()
        if group is not None and not group.has_member(user_id):
            return {"status": "left", "user": user}
    if admins and admins[0] == user_id:
        return {"status": "creator", "user": user, "is_anonymous": False}
    if user_id in admins:
        return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
    return {"status": "member", "user": user}

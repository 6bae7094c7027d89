"""The stand-in's manual routes (``/_sim/...``): play the subscribers' side with curl.

Each route takes query-string, form or JSON parameters, checks them, and answers
``{"ok": true, "result": ...}`` or a 400 naming the parameter at fault. ``GET /_sim/`` lists
the routes with their parameters; the README's "Trying the bot without Telegram" walks
through them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crackdown.standin.state import JSON, SentMessage, StoredMessage

if TYPE_CHECKING:
    from crackdown.standin.server import BotApiStandIn

# IETF tags as Telegram sends them: en, zh-hans, pt-br.
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", re.IGNORECASE)
_CHAT_TYPES = ("group", "supergroup", "channel")
MAX_WAIT = 120.0  # seconds a request may block with wait=
# A reply is complete once the chat has been quiet this long (replies to a private chat are
# paced at one a second, alerts to a group at one every three).
REPLY_QUIET = 1.5
SENT_QUIET = 5.0  # for sent?wait=: alerts follow a daemon's first poll and delivery tick


class RouteError(ValueError):
    """Bad input to a manual route: answered as 400 with this message."""


class Query:
    """A route's parameters, read with the checks and messages an operator needs."""

    def __init__(self, route: str, raw: Mapping[str, Any], accepted: tuple[str, ...]) -> None:
        unknown = sorted(set(raw) - set(accepted))
        if unknown:
            takes = ", ".join(accepted) or "no parameters"
            raise RouteError(f"unknown parameter {unknown[0]!r}; {route} takes {takes}")
        self.raw = raw

    def given(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str:
        if not self.given(name):
            if default is None:
                raise RouteError(f"{name} is required")
            return default
        return str(self.raw[name])

    def integer(self, name: str, default: int | None = None) -> int:
        if not self.given(name):
            if default is None:
                raise RouteError(f"{name} is required")
            return default
        value = self.raw[name]
        try:
            if isinstance(value, bool):
                raise TypeError
            return int(str(value).strip())
        except (TypeError, ValueError):
            raise RouteError(f"{name} must be an integer, not {value!r}") from None

    def wait(self) -> float:
        """``wait=SECONDS`` (0 to MAX_WAIT): how long to wait for the bot's answer."""
        if not self.given("wait"):
            return 0.0
        value = self.raw["wait"]
        try:
            seconds = float(str(value))
        except ValueError:
            raise RouteError(f"wait must be a number of seconds, not {value!r}") from None
        if not 0 <= seconds <= MAX_WAIT:
            raise RouteError(f"wait must be 0 to {MAX_WAIT:g} seconds, not {value!r}")
        return seconds

    def format(self) -> str:
        fmt = self.text("format", "json")
        if fmt not in ("json", "text"):
            raise RouteError(f"format must be json or text, not {fmt!r}")
        return fmt

    def ids(self, name: str) -> list[int]:
        """A list of user ids: ``1001,1002`` (or spaces, or a JSON list)."""
        if not self.given(name):
            return []
        value = self.raw[name]
        parts = value if isinstance(value, list) else re.split(r"[,\s]+", str(value).strip())
        try:
            return [int(str(part)) for part in parts if str(part)]
        except ValueError:
            raise RouteError(f"{name} must be user ids and commas, not {value!r}") from None

    def language(self, name: str, default: str | None = None) -> str:
        code = self.text(name, default)
        if not _LANGUAGE.fullmatch(code):
            raise RouteError(f"{name} must be a language code (en, zh, zh-hans), not {code!r}")
        return code.lower()


@dataclass(frozen=True)
class Route:
    """One manual route: what it does, its parameters, and the function answering it."""

    summary: str
    params: tuple[str, ...]
    run: Callable[[BotApiStandIn, Query], Any]


def _known_user(tg: BotApiStandIn, user_id: int) -> None:
    if user_id not in tg.state.users:
        raise RouteError(f"unknown user {user_id}: add it with /_sim/add_user?user_id={user_id}")


def _user_json(tg: BotApiStandIn, user_id: int) -> JSON:
    return tg.state.users[user_id].to_json()


def add_user(tg: BotApiStandIn, q: Query) -> JSON:
    """Register a user, or change the name, username or language of a known one."""
    user_id = q.integer("user_id")
    if user_id <= 0:
        raise RouteError(f"user_id must be a positive integer, not {user_id}")
    old = tg.state.users.get(user_id)
    tg.add_user(
        user_id,
        q.text("first_name", old.first_name if old else "Demo"),
        q.language("language_code", old.language_code if old else "en"),
        q.text("username", "") or (old.username if old else None),
    )
    return _user_json(tg, user_id)


def set_language(tg: BotApiStandIn, q: Query) -> JSON:
    user_id = q.integer("user_id")
    _known_user(tg, user_id)
    return tg.set_language(user_id, q.language("language_code")).to_json()


def add_group(tg: BotApiStandIn, q: Query) -> JSON:
    """A group with its admins (the first is its creator) and members, all known users."""
    chat_id = q.integer("chat_id")
    if chat_id >= 0:
        raise RouteError(f"chat_id must be negative (groups are), not {chat_id}")
    if chat_id in tg.state.groups:
        raise RouteError(f"chat {chat_id} already exists")
    title = q.text("title").strip()
    if not 1 <= len(title) <= 128:
        raise RouteError("title must be 1 to 128 characters")
    chat_type = q.text("type", "group")
    if chat_type not in _CHAT_TYPES:
        raise RouteError(f"type must be one of {', '.join(_CHAT_TYPES)}, not {chat_type!r}")
    admins = q.ids("admins")
    if not admins:
        raise RouteError("admins is required: at least the user who creates the group")
    members = [m for m in q.ids("members") if m not in admins]
    for user_id in [*admins, *members]:
        _known_user(tg, user_id)
    tg.add_group(chat_id, title, chat_type, admins, members)
    return {**tg.state.chat_json(chat_id), "admins": admins, "members": members}


def send_text(tg: BotApiStandIn, q: Query) -> JSON | str:
    """The user writes in their private chat with the bot, or in a group (chat_id).

    With ``wait=S`` the answer holds the bot's replies: what it sent to the chat after this
    message, once the chat has been quiet for a moment (at most S seconds).
    """
    user_id = q.integer("user_id")
    _known_user(tg, user_id)
    chat_id = q.integer("chat_id", user_id)
    text, wait, fmt = q.text("text"), q.wait(), q.format()
    _check_chat(tg, user_id, chat_id)
    before = len(tg.sent_messages(chat_id))
    result: JSON = {"update_id": tg.send_text(user_id, text, chat_id), "chat_id": chat_id}
    if wait:
        _settle(tg, chat_id, before, wait, lambda: False)
        result["replies"] = _rows(tg, tg.sent_messages(chat_id)[before:])
        if not result["replies"]:
            result["note"] = _NO_ANSWER.format(wait=wait)
    return _shaped(result, fmt)


_NO_ANSWER = "no answer within {wait:g} s: is the daemon running (crackdown run)?"


def press_button(tg: BotApiStandIn, q: Query) -> JSON | str:
    """Tap an inline button of a bot message: by its label (``button``) or its ``data``.

    With ``wait=S`` the answer holds the bot's answer to the tap (the toast), what it sent or
    edited in the chat, and the message's buttons after it.
    """
    user_id = q.integer("user_id")
    _known_user(tg, user_id)
    chat_id = q.integer("chat_id", user_id)
    wait, fmt = q.wait(), q.format()
    _check_chat(tg, user_id, chat_id)
    if q.given("button") == q.given("data"):
        raise RouteError("give one of button (its label, or part of it) or data")
    message = _message_with_buttons(tg, chat_id, q.integer("message_id", 0) or None)
    buttons = [b for row in _keyboard(message) for b in row if "callback_data" in b]
    if q.given("data"):
        data = q.text("data")
        chosen = [b for b in buttons if b["callback_data"] == data]
    else:
        label = q.text("button").casefold()
        exact = [b for b in buttons if b["text"].casefold() == label]
        chosen = exact or [b for b in buttons if label in b["text"].casefold()]
    labels = ", ".join(repr(b["text"]) for b in buttons)
    if not chosen:
        raise RouteError(f"message {message.message_id} has no such button; it has {labels}")
    if len(chosen) > 1:
        raise RouteError(f"{len(chosen)} buttons match; be more precise: {labels}")
    button = chosen[0]
    before = len(tg.sent_messages(chat_id))
    answers = len(tg.callback_answers)
    update_id = tg.press_button(user_id, chat_id, message.message_id, button["callback_data"])
    result: JSON = {
        "update_id": update_id,
        "chat_id": chat_id,
        "message_id": message.message_id,
        "button": button["text"],
        "data": button["callback_data"],
    }
    if wait:
        _settle(tg, chat_id, before, wait, lambda: len(tg.state.callback_answers) > answers)
        answered = tg.callback_answers[answers:]
        result["answer"] = answered[0]["text"] if answered else None
        result["replies"] = _rows(tg, tg.sent_messages(chat_id)[before:])
        result["buttons"] = [[b["text"] for b in row] for row in _keyboard(message)]
        if not answered:
            result["note"] = _NO_ANSWER.format(wait=wait)
    return _shaped(result, fmt)


def _settle(
    tg: BotApiStandIn,
    chat_id: int | None,
    before: int,
    wait: float,
    done: Callable[[], bool],
    quiet: float = REPLY_QUIET,
) -> None:
    """Block until the chat got something after ``before`` messages (or ``done()``) and has
    been quiet for ``quiet`` seconds (twice that in a group); at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    quiet *= 2 if chat_id is not None and chat_id < 0 else 1
    with tg.state.cond:
        while not tg.state.closed:
            messages = tg.state.sent_messages(chat_id)
            answered = len(messages) > before or done()
            if answered and (not messages or time.time() - messages[-1].sent_at >= quiet):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            tg.state.cond.wait(min(remaining, 0.1))


def _shaped(result: JSON, fmt: str) -> JSON | str:
    """JSON as it is, or for format=text what a subscriber would read."""
    if fmt == "json":
        return result
    lines = []
    if result.get("button") is not None:
        lines.append(f"pressed [{result['button']}]; the bot answered: {result.get('answer')}")
    if result.get("note"):
        lines.append(str(result["note"]))
    text = "\n".join(lines) + ("\n\n" if lines else "")
    text += "".join(_as_text(row) for row in result.get("replies", []))
    if result.get("buttons"):
        text += "buttons now:\n" + _button_lines(result["buttons"]) + "\n"
    return text or f"sent (update {result['update_id']})\n"


def _check_chat(tg: BotApiStandIn, user_id: int, chat_id: int) -> None:
    if chat_id > 0 and chat_id != user_id:
        raise RouteError(f"chat {chat_id} is another user's private chat; leave chat_id out")
    if chat_id < 0 and chat_id not in tg.state.groups:
        raise RouteError(f"unknown group {chat_id}: create it with /_sim/add_group")


def _keyboard(message: StoredMessage) -> list[list[JSON]]:
    return list((message.reply_markup or {}).get("inline_keyboard", []))


def _message_with_buttons(tg: BotApiStandIn, chat_id: int, message_id: int | None) -> StoredMessage:
    """The named bot message, or the chat's latest one that has inline buttons."""
    with tg.state.cond:
        candidates = [
            msg
            for (chat, number), msg in tg.state.messages.items()
            if chat == chat_id and msg.from_bot and (message_id is None or number == message_id)
        ]
    if message_id is not None:
        if not candidates:
            raise RouteError(f"no bot message {message_id} in chat {chat_id}")
        if not _keyboard(candidates[0]):
            raise RouteError(f"message {message_id} in chat {chat_id} has no buttons")
        return candidates[0]
    with_buttons = [msg for msg in candidates if _keyboard(msg)]
    if not with_buttons:
        raise RouteError(f"no bot message with buttons in chat {chat_id} (try /topics)")
    return max(with_buttons, key=lambda msg: msg.message_id)


def sent(tg: BotApiStandIn, q: Query) -> list[JSON] | str:
    """What the bot sent (and edited), oldest first, with each message's buttons now.

    With ``wait=S``: first wait until the chat has a message and has been quiet for a moment
    (at most S seconds), as after starting the daemon.
    """
    chat_id = q.integer("chat_id", 0) or None
    last = q.integer("last", 0)
    if last < 0:
        raise RouteError(f"last must be a positive integer, not {last}")
    wait, fmt = q.wait(), q.format()
    if wait:
        _settle(tg, chat_id, 0, wait, lambda: False, SENT_QUIET)
    messages = tg.sent_messages(chat_id)[-last:] if last else tg.sent_messages(chat_id)
    rows = _rows(tg, messages)
    return "".join(_as_text(row) for row in rows) if fmt == "text" else rows


def _rows(tg: BotApiStandIn, messages: list[SentMessage]) -> list[JSON]:
    return [{**vars(m), "buttons": _buttons(tg, m)} for m in messages]


def _buttons(tg: BotApiStandIn, sent_message: SentMessage) -> list[list[str]]:
    with tg.state.cond:
        stored = tg.state.messages.get((sent_message.chat_id, sent_message.message_id))
    return [[b["text"] for b in row] for row in _keyboard(stored)] if stored else []


def _button_lines(rows: list[list[str]]) -> str:
    return "\n".join("  " + "  ".join(f"[{label}]" for label in labels) for labels in rows)


def _as_text(row: JSON) -> str:
    head = f"--- chat {row['chat_id']}, message {row['message_id']}"
    if row["method"] == "editMessageText":
        head += " (edited)"
    lines = [head, row["plain_text"]]
    if row["buttons"]:
        lines.append(_button_lines(row["buttons"]))
    return "\n".join(lines) + "\n\n"


def summary(tg: BotApiStandIn, q: Query) -> JSON:
    return tg.summary()


def routes_help(tg: BotApiStandIn, q: Query) -> JSON:
    return {
        f"/_sim/{name}": {"does": route.summary, "params": list(route.params)}
        for name, route in ROUTES.items()
    }


ROUTES: dict[str, Route] = {
    "": Route("this list", (), routes_help),
    "add_user": Route(
        "register a user, or change a known one's name, username or language",
        ("user_id", "first_name", "language_code", "username"),
        add_user,
    ),
    "set_language": Route(
        "set a user's Telegram language (en, zh, zh-hans...)",
        ("user_id", "language_code"),
        set_language,
    ),
    "add_group": Route(
        "create a group: negative chat_id, title, type (group, supergroup, channel), "
        "admins (the first is the creator) and members, as comma-separated user ids",
        ("chat_id", "title", "type", "admins", "members"),
        add_group,
    ),
    "send_text": Route(
        "the user writes text (a /command) to the bot, or in a group with chat_id; "
        "wait=S returns the bot's replies; format=text",
        ("user_id", "text", "chat_id", "wait", "format"),
        send_text,
    ),
    "press_button": Route(
        "the user taps an inline button, by its label (button=, or part of it) or data=, "
        "on message_id (default: the chat's latest message with buttons); wait=S returns "
        "the bot's answer; format=text",
        ("user_id", "chat_id", "message_id", "button", "data", "wait", "format"),
        press_button,
    ),
    "sent": Route(
        "what the bot sent, oldest first, with buttons; chat_id, last=N, format=text, "
        "wait=S (until the chat has a message and has been quiet for 5 s)",
        ("chat_id", "last", "format", "wait"),
        sent,
    ),
    "summary": Route("totals: messages, chats, duplicates, 429s, faults", (), summary),
}


def handle(tg: BotApiStandIn, path: str, params: Mapping[str, Any]) -> tuple[int, JSON | str]:
    """Answer one ``/_sim/...`` request: (status, JSON body or plain text)."""
    name = path.removeprefix("/_sim/").strip("/")
    route = ROUTES.get("" if name == "help" else name)
    if route is None:
        known = ", ".join(f"/_sim/{n}" for n in ROUTES if n)
        return 404, _error(404, f"Not Found: no route {path}; the routes are {known}")
    try:
        result = route.run(tg, Query(f"/_sim/{name}", params, route.params))
    except (RouteError, ValueError) as err:  # ValueError: the simulated world refused
        return 400, _error(400, f"Bad Request: {err}")
    return 200, result if isinstance(result, str) else {"ok": True, "result": result}


def _error(code: int, description: str) -> JSON:
    return {"ok": False, "error_code": code, "description": description}

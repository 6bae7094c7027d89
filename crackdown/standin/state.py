"""The simulated Telegram world behind the stand-in: users, chats, updates, sent messages.

Pure and thread-safe (one re-entrant lock + condition), no HTTP: the HTTP threads call into it
through ``methods.handle`` while the test thread drives the simulated users. Bot API method
implementations live in ``methods.py``; this module only holds the data they share.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crackdown.standin.methods import Params

# Counted in Python characters (Unicode code points) of the parsed plain text; the Bot API docs
# only say "4096 characters after entities parsing". Entity offsets are UTF-16 code units.
MAX_TEXT_LENGTH = 4096

JSON = dict[str, Any]

FIRST_UPDATE_ID = 100_000
# Telegram does not deliver these unless asked for explicitly via allowed_updates.
_NOT_DELIVERED_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def _command_entities(text: str) -> list[JSON]:
    """The bot_command entity Telegram marks a leading /command with."""
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    length = len(match.group().encode("utf-16-le")) // 2
    return [{"type": "bot_command", "offset": 0, "length": length}]


@dataclass(frozen=True)
class SimUser:
    """A simulated human Telegram user."""

    user_id: int
    first_name: str
    language_code: str = "en"
    username: str | None = None

    def to_json(self) -> JSON:
        """The User object as the Bot API serialises it."""
        data: JSON = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class SentMessage:
    """One sendMessage/editMessageText the bot made successfully, as the test sees it."""

    chat_id: int
    message_id: int
    text: str  # as the bot sent it (HTML source when parse_mode=HTML)
    plain_text: str  # after entity parsing: what the user reads
    parse_mode: str | None
    method: str  # "sendMessage" or "editMessageText"
    sent_at: float  # time.time()
    disable_web_page_preview: bool


@dataclass
class SendStats:
    """Running totals over successful sendMessage calls, so summaries stay O(1)."""

    messages: int = 0
    chats: set[int] = field(default_factory=set)
    pairs: set[tuple[int, str]] = field(default_factory=set)  # distinct (chat_id, text)
    first_at: float | None = None
    last_at: float | None = None

    def add(self, sent: SentMessage) -> None:
        """Count one successful sendMessage."""
        self.messages += 1
        self.chats.add(sent.chat_id)
        self.pairs.add((sent.chat_id, sent.text))
        if self.first_at is None:
            self.first_at = sent.sent_at
        self.last_at = sent.sent_at

    @property
    def duplicates(self) -> int:
        """Sends that repeated an earlier (chat, text): what a dedup bug looks like."""
        return self.messages - len(self.pairs)


class ApiError(Exception):
    """A Bot API error response; ``parameters`` carries retry_after / migrate_to_chat_id."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        """The JSON body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def chat_not_found() -> ApiError:
    """The error for any chat_id the simulated world does not know."""
    return ApiError(400, "Bad Request: chat not found")


@dataclass
class Group:
    """A group, supergroup or channel the bot is in."""

    chat_id: int
    title: str
    chat_type: str
    admin_ids: tuple[int, ...] = ()
    # None: anyone known may write (the tests' default); else only admins and these users.
    member_ids: frozenset[int] | None = None

    def has_member(self, user_id: int) -> bool:
        """Whether the user is in the group (always, when membership is not tracked)."""
        return self.member_ids is None or user_id in self.member_ids or user_id in self.admin_ids


@dataclass
class StoredMessage:
    """A message as the server remembers it (needed for edits and callback queries)."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: JSON | None
    text: str
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    edit_date: int | None = None
    forward_origin: JSON | None = None  # set on a forwarded message: who wrote it first


class TelegramState:
    """Everything the fake Telegram knows. All public methods are safe from any thread."""

    def __init__(self, bot_id: int, bot_username: str) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_username.removesuffix("_bot").replace("_", " ").title() or "Bot"
        self.cond = threading.Condition(threading.RLock())  # guards everything below
        self.users: dict[int, SimUser] = {}
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()  # deleted accounts: 403 "user is deactivated"
        self.kicked_from: set[int] = set()  # groups that removed the bot: 403 "bot was kicked"
        self.muted_in: set[int] = set()  # groups whose admins took the bot's right to post: 400
        self.migrated: dict[int, int] = {}  # old group id -> supergroup id it was upgraded to
        self.groups: dict[int, Group] = {}
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.updates: list[JSON] = []  # delivered-or-not but unconfirmed, ascending update_id
        self.allowed_updates: set[str] | None = None  # None = Telegram's default set
        self.poll_generation = 0  # a newer getUpdates terminates an older one (409 Conflict)
        self.open_callbacks: set[str] = set()
        self.callback_answers: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.sent: list[SentMessage] = []
        # Telegram's "4096 characters after entities parsing" is counted its own way; a test
        # lowers this to play a Telegram that counts a text longer than the bot does.
        self.max_text_length = MAX_TEXT_LENGTH
        self.stats = SendStats()
        self._sent_per_chat: dict[int, int] = {}  # so waiting on 10,000+ messages stays cheap
        self.closed = False
        # Called as f(method, params) before every Bot API method; may raise ApiError (flood
        # limits, injected 5xx, chat migration) or sleep (timeouts). See methods.handle.
        self.interceptors: list[Callable[[str, Params], None]] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._next_message_id: dict[int, int] = {}
        self._next_callback_id = 1

    # -- JSON views ----------------------------------------------------------------------------
    def bot_json(self) -> JSON:
        """The bot's own User object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def chat_json(self, chat_id: int) -> JSON:
        """The Chat object for a known chat; ApiError 'chat not found' otherwise."""
        with self.cond:
            if chat_id in self.users:
                user = self.users[chat_id]
                data: JSON = {"id": chat_id, "type": "private", "first_name": user.first_name}
                if user.username:
                    data["username"] = user.username
                return data
            if chat_id in self.groups:
                group = self.groups[chat_id]
                return {"id": chat_id, "type": group.chat_type, "title": group.title}
        raise chat_not_found()

    def message_json(self, msg: StoredMessage) -> JSON:
        """The Message object Telegram returns/delivers for a stored message."""
        data: JSON = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": self.chat_json(msg.chat_id),
            "text": msg.text,
        }
        if msg.sender is not None:
            data["from"] = msg.sender
        elif msg.chat_id in self.groups:
            data["sender_chat"] = data["chat"]  # channel posts carry no 'from'
        if msg.entities:
            data["entities"] = msg.entities
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if msg.forward_origin is not None:
            data["forward_origin"] = msg.forward_origin
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup  # only inline keyboards are echoed
        return data

    # -- bookkeeping used by methods.py --------------------------------------------------------
    def resolve_chat(self, raw: object) -> int:
        """Map a chat_id parameter to a known chat id (400 'chat not found' otherwise)."""
        try:
            chat_id = int(str(raw))
        except ValueError:
            raise chat_not_found() from None  # '@channelname' lookups are not simulated
        self.chat_json(chat_id)
        return chat_id

    def ensure_can_post(self, chat_id: int) -> None:
        """Telegram's refusals for a chat the bot can no longer write to.

        Every method that posts into a chat calls this, so migrations (400 with
        migrate_to_chat_id, which PTB raises as ChatMigrated), deactivated users, kicks and
        blocks behave the same for sends, edits and chat actions.
        """
        with self.cond:
            if chat_id in self.migrated:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": self.migrated[chat_id]},
                )
            if chat_id in self.kicked_from:
                kind = self.groups[chat_id].chat_type
                raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
            if chat_id in self.muted_in:
                raise ApiError(
                    400, "Bad Request: not enough rights to send text messages to the chat"
                )
            if chat_id in self.deactivated:
                raise ApiError(403, "Forbidden: user is deactivated")
            if chat_id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")

    def store_message(
        self,
        chat_id: int,
        *,
        from_bot: bool,
        sender: JSON | None,
        text: str,
        entities: list[JSON],
        reply_markup: JSON | None = None,
    ) -> StoredMessage:
        """Allocate the next per-chat message_id and remember the message."""
        with self.cond:
            message_id = self._next_message_id.get(chat_id, 1)
            self._next_message_id[chat_id] = message_id + 1
            msg = StoredMessage(
                chat_id,
                message_id,
                int(time.time()),
                from_bot,
                sender,
                text,
                entities,
                reply_markup,
            )
            self.messages[(chat_id, message_id)] = msg
            return msg

    def record(self, sent: SentMessage) -> None:
        """Append to the sent-message record and wake wait_for_messages."""
        with self.cond:
            self.sent.append(sent)
            self._sent_per_chat[sent.chat_id] = self._sent_per_chat.get(sent.chat_id, 0) + 1
            if sent.method == "sendMessage":
                self.stats.add(sent)
            self.cond.notify_all()

    def queue_update(self, kind: str, payload: JSON) -> int:
        """Add an update unless allowed_updates excludes it (Telegram drops those)."""
        with self.cond:
            update_id = self._next_update_id
            self._next_update_id += 1
            if self.allowed_updates is None:
                deliver = kind not in _NOT_DELIVERED_BY_DEFAULT
            else:
                deliver = kind in self.allowed_updates
            if deliver:
                self.updates.append({"update_id": update_id, kind: payload})
                self.cond.notify_all()
            return update_id

    # -- simulation API (driven by tests) ----------------------------------------------------
    def add_user(self, user: SimUser) -> SimUser:
        """Make a user (and so their private chat with the bot) known."""
        with self.cond:
            self.users[user.user_id] = user
        return user

    def add_users(self, users: Iterable[SimUser]) -> None:
        """Register many users under one lock acquisition (the CLI's --users A:B)."""
        with self.cond:
            self.users.update((user.user_id, user) for user in users)

    def add_group(
        self,
        chat_id: int,
        title: str,
        chat_type: str,
        admin_ids: Iterable[int],
        member_ids: Iterable[int] | None = None,
    ) -> None:
        """Make a group/supergroup/channel known; the first admin id is its creator.

        With ``member_ids`` only admins and those users are in it (others cannot write, and
        getChatMember says "left"); without, any known user is.
        """
        if chat_type not in ("group", "supergroup", "channel") or chat_id >= 0:
            raise ValueError("groups need a negative id and type group/supergroup/channel")
        members = None if member_ids is None else frozenset(member_ids)
        with self.cond:
            self.groups[chat_id] = Group(chat_id, title, chat_type, tuple(admin_ids), members)

    def set_language(self, user_id: int, language_code: str) -> SimUser:
        """The user switches Telegram's language: their later updates carry the new code."""
        with self.cond:
            user = replace(self.user(user_id), language_code=language_code)
            self.users[user_id] = user
            return user

    def user(self, user_id: int) -> SimUser:
        """A known user, or ValueError: the simulation should not invent people silently."""
        with self.cond:
            if user_id not in self.users:
                raise ValueError(f"unknown user {user_id}; call add_user() first")
            return self.users[user_id]

    def send_text(
        self, user_id: int, text: str, chat_id: int | None = None, forwarded_from: int | None = None
    ) -> int:
        """A user writes ``text`` (or forwards what user ``forwarded_from`` wrote).

        Leading /commands get a bot_command entity; a forward keeps it, as Telegram's do.
        """
        with self.cond:
            user = self.user(user_id)
            origin = None
            if forwarded_from is not None:
                author = self.user(forwarded_from).to_json()
                origin = {"type": "user", "date": int(time.time()), "sender_user": author}
            chat_id = user_id if chat_id is None else chat_id
            self.chat_json(chat_id)
            gone = chat_id in self.migrated or chat_id in self.kicked_from
            if gone or user_id in self.deactivated:
                raise ValueError(f"user {user_id} cannot write to chat {chat_id} any more")
            self._check_member(user_id, chat_id)
            if chat_id == user_id and user_id in self.blocked:
                self.set_blocked(user_id, False)  # writing again = pressing "Restart"
            entities = _command_entities(text)
            is_channel = chat_id in self.groups and self.groups[chat_id].chat_type == "channel"
            sender = None if is_channel else user.to_json()
            msg = self.store_message(
                chat_id, from_bot=False, sender=sender, text=text, entities=entities
            )
            msg.forward_origin = origin
            kind = "channel_post" if is_channel else "message"
            return self.queue_update(kind, self.message_json(msg))

    def edit_text(
        self, user_id: int, text: str, chat_id: int | None = None, message_id: int | None = None
    ) -> int:
        """A user edits a message (default: their latest in the chat); Telegram resends it."""
        with self.cond:
            chat_id = user_id if chat_id is None else chat_id
            mine = [
                msg
                for (chat, number), msg in self.messages.items()
                if chat == chat_id
                and not msg.from_bot
                and (message_id is None or number == message_id)
                and (msg.sender is None or msg.sender["id"] == user_id)
            ]
            if not mine:
                raise ValueError(f"user {user_id} wrote no such message in chat {chat_id}")
            msg = max(mine, key=lambda m: m.message_id)
            msg.text, msg.entities = text, _command_entities(text)
            msg.edit_date = int(time.time())
            is_channel = chat_id in self.groups and self.groups[chat_id].chat_type == "channel"
            kind = "edited_channel_post" if is_channel else "edited_message"
            return self.queue_update(kind, self.message_json(msg))

    def press_button(self, user_id: int, chat_id: int, message_id: int, data: str) -> int:
        """A user taps an inline button under one of the bot's messages."""
        with self.cond:
            user = self.user(user_id)
            msg = self.messages.get((chat_id, message_id))
            if msg is None or not msg.from_bot:
                raise ValueError(f"no bot message {message_id} in chat {chat_id}")
            self._check_member(user_id, chat_id)
            query_id = str(self._next_callback_id)
            self._next_callback_id += 1
            self.open_callbacks.add(query_id)
            return self.queue_update(
                "callback_query",
                {
                    "id": query_id,
                    "from": user.to_json(),
                    "message": self.message_json(msg),
                    "chat_instance": str(abs(chat_id)),
                    "data": data,
                },
            )

    def _check_member(self, user_id: int, chat_id: int) -> None:
        """Only a group's members write in it or press its buttons."""
        group = self.groups.get(chat_id)
        if group is not None and not group.has_member(user_id):
            raise ValueError(f"user {user_id} is not a member of group {chat_id}")

    def set_blocked(self, user_id: int, blocked: bool) -> None:
        """Block/unblock the bot; queues the my_chat_member update Telegram sends."""
        with self.cond:
            user = self.user(user_id)
            if blocked == (user_id in self.blocked):
                return
            (self.blocked.add if blocked else self.blocked.discard)(user_id)
            member = {"status": "member", "user": self.bot_json()}
            kicked = {"status": "kicked", "user": self.bot_json(), "until_date": 0}
            old, new = (member, kicked) if blocked else (kicked, member)
            self.queue_update(
                "my_chat_member",
                {
                    "chat": self.chat_json(user_id),
                    "from": user.to_json(),
                    "date": int(time.time()),
                    "old_chat_member": old,
                    "new_chat_member": new,
                },
            )

    def migrate_group(self, old_id: int, new_id: int) -> None:
        """Upgrade a basic group to a supergroup with a new id, as Telegram does.

        The supergroup keeps the title and admins; posting to the old id then fails with
        400 + migrate_to_chat_id so the bot must learn the new id from the error.
        """
        with self.cond:
            group = self.groups.get(old_id)
            if group is None or group.chat_type != "group" or old_id in self.migrated:
                raise ValueError(f"{old_id} is not a known, unmigrated basic group")
            if new_id in self.groups or new_id >= 0:
                raise ValueError(f"{new_id} must be a new negative chat id")
            self.add_group(new_id, group.title, "supergroup", group.admin_ids, group.member_ids)
            self.migrated[old_id] = new_id

    def deactivate_user(self, user_id: int) -> None:
        """The user deletes their account: posting to them fails with 403 for good."""
        with self.cond:
            self.user(user_id)
            self.deactivated.add(user_id)

    def kick_bot(self, group_id: int) -> None:
        """A group/supergroup/channel removes the bot: posting there fails with 403."""
        with self.cond:
            if group_id not in self.groups:
                raise ValueError(f"unknown group {group_id}; call add_group() first")
            self.kicked_from.add(group_id)

    def restrict_bot(self, group_id: int, restricted: bool = True) -> None:
        """A group's admins take (or give back) the bot's right to send messages."""
        with self.cond:
            if group_id not in self.groups:
                raise ValueError(f"unknown group {group_id}; call add_group() first")
            (self.muted_in.add if restricted else self.muted_in.discard)(group_id)

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """The record of successful sends/edits, oldest first."""
        with self.cond:
            return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def wait_for_messages(
        self, count: int, chat_id: int | None, timeout: float
    ) -> list[SentMessage]:
        """Block until ``count`` messages are recorded; TimeoutError lists what did arrive."""
        with self.cond:
            if not self.cond.wait_for(lambda: self._sent_count(chat_id) >= count, timeout):
                got = [m.plain_text[:80] for m in self.sent_messages(chat_id)]
                raise TimeoutError(
                    f"expected {count} message(s) for chat {chat_id} within "
                    f"{timeout}s, got {len(got)}: {got}"
                )
            return self.sent_messages(chat_id)

    def _sent_count(self, chat_id: int | None) -> int:
        return len(self.sent) if chat_id is None else self._sent_per_chat.get(chat_id, 0)

    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        with self.cond:
            return len(self.updates)

    def close(self) -> None:
        """Release every waiter (long polls return empty, wait_for_messages re-checks)."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

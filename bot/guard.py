"""Who may do what: command flood limits per conversation, group admins, operators."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable

from telegram import Bot, Chat, User
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.pacing import SlidingWindow

log = logging.getLogger(__name__)

GROUP_TYPES = frozenset({"group", "supergroup"})


class CommandGuard:
    """At most `per_minute` commands per conversation; a flooding one is ignored, others served.

    A conversation is a private chat, or one member of a group (`bot.updates.conversation`):
    a member who floods a group is ignored, not the group, so its admins are still heard.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._windows: dict[Hashable, SlidingWindow] = {}
        self._warned: dict[Hashable, float] = {}

    def allow(self, who: Hashable) -> bool:
        now = self.clock()
        window = self._windows.get(who)
        if window is None:
            if len(self._windows) > 10_000:  # forget conversations that went quiet
                self._windows = {c: w for c, w in self._windows.items() if not w.idle(now)}
                self._warned = {c: t for c, t in self._warned.items() if now - t <= 60}
            window = self._windows[who] = SlidingWindow(self.per_minute, 60.0)
        if window.wait(now) > 0:
            if now - self._warned.get(who, -120.0) > 60:
                self._warned[who] = now
                log.warning("%s sends commands too fast: ignoring it for now", _describe(who))
            return False
        window.record(now)
        return True


def _describe(who: Hashable) -> str:
    if isinstance(who, tuple):
        return f"user {who[1]} in chat {who[0]}"
    return f"chat {who}"


async def may_change(bot: Bot, chat: Chat, user: User | None) -> bool:
    """In groups only admins change what the group follows; in private chats anyone."""
    if chat.type not in GROUP_TYPES:
        return True
    if user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.warning("cannot check admin rights in chat %d: %s", chat.id, exc)
        return False
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)

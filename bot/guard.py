"""Who may do what: per-chat command flood limits, group admins, operators."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram import Bot, Chat, User
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.pacing import SlidingWindow

log = logging.getLogger(__name__)

GROUP_TYPES = frozenset({"group", "supergroup"})


class CommandGuard:
    """At most `per_minute` commands per chat; a flooding chat is ignored, others are served."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._windows: dict[int, SlidingWindow] = {}
        self._warned: dict[int, float] = {}

    def allow(self, chat_id: int) -> bool:
        now = self.clock()
        window = self._windows.get(chat_id)
        if window is None:
            if len(self._windows) > 10_000:  # forget chats that went quiet
                self._windows = {c: w for c, w in self._windows.items() if not w.idle(now)}
            window = self._windows[chat_id] = SlidingWindow(self.per_minute, 60.0)
        if window.wait(now) > 0:
            if now - self._warned.get(chat_id, -120.0) > 60:
                self._warned[chat_id] = now
                log.warning("chat %d sends commands too fast: ignoring it for now", chat_id)
            return False
        window.record(now)
        return True


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

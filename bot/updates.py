"""Updates handled concurrently, one at a time per conversation.

PTB handles updates one after another by default, so one slow command (a
/watch dry run, a slow getChatMember) kept every other chat waiting. Here
each update runs as soon as it arrives, except that a conversation's
updates run in the order they came: a private chat, or one member in a
group. A group is not one conversation: its replies wait for the group's
flood budget (20 a minute), and one member's burst would keep the admins'
commands waiting behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.guard import GROUP_TYPES

MAX_CONCURRENT = 256  # updates in progress (including those queued behind their conversation)


def conversation(update: object) -> Hashable | None:
    """Whose turn an update waits for: the private chat, or (group, member); None: nobody's."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return None
    chat = update.effective_chat
    user = update.effective_user
    if chat.type in GROUP_TYPES and user is not None:
        return (chat.id, user.id)
    return chat.id


class ConversationUpdates(BaseUpdateProcessor):
    """Concurrent updates, serialised per conversation (see the module docs)."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT) -> None:
        super().__init__(max_concurrent_updates)
        self._turns: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = conversation(update)
        if key is None:
            await coroutine
            return
        lock, users = self._turns.get(key) or (asyncio.Lock(), 0)
        self._turns[key] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock wakes waiters in arrival order
                await coroutine
        finally:
            lock, users = self._turns[key]
            if users == 1:
                del self._turns[key]  # nobody waits: forget the conversation
            else:
                self._turns[key] = (lock, users - 1)

    @property
    def conversations(self) -> int:
        """Conversations with an update in progress (for tests and memory checks)."""
        return len(self._turns)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free: the application waits for updates in progress."""

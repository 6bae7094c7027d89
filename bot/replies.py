"""Replies on the alerts' budget: paced per chat and globally, first in line, retried on 429.

A reply sent straight away trips Telegram's per-chat limit as soon as a
user sends two commands within a second (or an alert went out to the chat
a moment before), and the 429 used to end the handler with no answer. Each
reply now takes a slot from the delivery worker's `Pacer`, ahead of alerts,
and a 429 pauses sending for `retry_after` (as for alerts) and tries again.
A 429 longer than `FLOOD_PAUSE_MAX` is that chat's flood ban: the reply is
given up, and the others wait that long at most.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Chat
from telegram.error import RetryAfter

from bot.pacing import Pacer
from bot.retry_after import FLOOD_PAUSE_MAX, retry_after_seconds

log = logging.getLogger(__name__)

T = TypeVar("T")
ATTEMPTS = 4  # 429s in a row before a reply is given up (each waits retry_after first)
PAUSE_MARGIN = 0.5  # seconds added to retry_after, as for alerts


def retry_seconds(exc: RetryAfter) -> float:
    """A RetryAfter's wait in seconds (`bot.retry_after`: int or timedelta, capped)."""
    return retry_after_seconds(exc.retry_after)


async def paced(pacer: Pacer, chat: Chat, send: Callable[[], Awaitable[T]]) -> T:
    """Run `send` (one message into `chat`) when the pacer allows; retry after a 429."""
    for attempt in range(1, ATTEMPTS + 1):
        await pacer.acquire(chat.id, chat.type, first=True)
        try:
            return await send()
        except RetryAfter as exc:
            pause = retry_seconds(exc) + PAUSE_MARGIN
            pacer.pause(min(pause, FLOOD_PAUSE_MAX))
            if attempt == ATTEMPTS or pause > FLOOD_PAUSE_MAX:
                raise
            log.warning(
                "telegram flood control on a reply to chat %d: retry in %.1fs", chat.id, pause
            )
    raise AssertionError("unreachable")

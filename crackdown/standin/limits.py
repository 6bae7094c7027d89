"""Telegram's flood limits for the stand-in: 429 Too Many Requests with ``retry_after``.

Telegram's bot FAQ gives roughly 1 message per second per private chat, 20 per minute per
group and 30 per second overall; beyond that it answers 429 with ``parameters.retry_after``
and keeps refusing the offending scope until that time has passed. ``FloodControl`` does the
same, so the bot's pacing and RetryAfter handling meet real PTB exceptions in tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from crackdown.standin.state import ApiError

if TYPE_CHECKING:
    from crackdown.standin.methods import Params

__all__ = ["FloodControl", "FloodLimits", "is_posting", "target_chat"]

_POSTING = frozenset({"sendmessage", "editmessagetext", "copymessage", "forwardmessage"})
_EPSILON = 1e-9  # keeps float noise (3.0000000004 s) from rounding a wait up a whole second


def is_posting(method: str) -> bool:
    """Whether ``method`` posts into a chat: only those count for flood limits and faults."""
    name = method.lower()
    return name in _POSTING or name.startswith("send")


def target_chat(params: Params) -> int | None:
    """The numeric chat_id a request targets; None when missing or an '@name'."""
    raw = params.raw.get("chat_id")
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return int(str(raw))
    except ValueError:
        return None


def _whole_seconds(seconds: float) -> int:
    """Telegram's retry_after: whole seconds, rounded up, never 0."""
    return max(1, math.ceil(seconds - _EPSILON))


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's published rates; ``scaled`` speeds them up or down for tests and demos."""

    global_per_second: float = 30
    private_per_second: float = 1
    group_per_minute: float = 20
    penalty: float = 3.0  # minimum retry_after once a limit is hit

    def __post_init__(self) -> None:
        rates = (self.global_per_second, self.private_per_second, self.group_per_minute)
        if min(rates) <= 0 or self.penalty < 0:
            raise ValueError("flood limit rates must be > 0 and the penalty >= 0")

    def scaled(self, factor: float) -> FloodLimits:
        """All three rates multiplied by ``factor``; the penalty stays as it is."""
        return replace(
            self,
            global_per_second=self.global_per_second * factor,
            private_per_second=self.private_per_second * factor,
            group_per_minute=self.group_per_minute * factor,
        )


@dataclass(frozen=True)
class _Window:
    """At most ``limit`` accepted requests in any ``seconds`` long sliding window."""

    limit: int
    seconds: float

    @classmethod
    def of(cls, rate: float, period: float) -> _Window:
        """``rate`` per ``period``; a rate below 1 becomes 1 per ``period / rate``."""
        if rate >= 1:
            return cls(round(rate), period)
        return cls(1, period / rate)


class _Scope:
    """The sliding log and penalty of the global scope or of one chat."""

    __slots__ = ("hits", "penalty_until", "window")

    def __init__(self, window: _Window) -> None:
        self.window = window
        self.hits: deque[float] = deque()  # arrival times of accepted requests, ascending
        self.penalty_until = -math.inf

    def penalty_left(self, now: float) -> int:
        """Seconds (>= 1) the scope is still penalised for, 0 if it is not."""
        return _whole_seconds(self.penalty_until - now) if self.penalty_until > now else 0

    def overflow(self, now: float, penalty: float) -> int:
        """0 if one more request fits; else start a penalty and return its retry_after."""
        horizon = now - self.window.seconds
        while self.hits and self.hits[0] <= horizon:
            self.hits.popleft()
        if len(self.hits) < self.window.limit:
            return 0
        retry = _whole_seconds(max(penalty, self.hits[0] + self.window.seconds - now))
        self.penalty_until = now + retry
        return retry

    def idle(self, now: float) -> bool:
        """Nothing in the window and no penalty: forgetting the scope changes nothing."""
        return self.penalty_until <= now and (
            not self.hits or self.hits[-1] <= now - self.window.seconds
        )


def _too_many(retry: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})


class FloodControl:
    """An interceptor (``state.interceptors``) answering 429 as Telegram's flood control does.

    Windows are sliding logs of arrival times; rejected requests are not logged, so a bot
    that backs off correctly is not punished twice. Per-chat state is created only for
    accepted requests and dropped once idle (least recently used first), so memory follows
    recent traffic, not the number of chats ever seen.
    """

    def __init__(
        self, limits: FloodLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or FloodLimits()
        self._clock = clock
        self._lock = threading.Lock()
        self._global = _Scope(_Window.of(self.limits.global_per_second, 1.0))
        self._private = _Window.of(self.limits.private_per_second, 1.0)
        self._group = _Window.of(self.limits.group_per_minute, 60.0)
        self._chats: OrderedDict[int, _Scope] = OrderedDict()  # least recently touched first
        self.accepted = 0
        self.rejected_global = 0
        self.rejected_chat = 0

    @property
    def rejected(self) -> int:
        """All 429s this interceptor answered."""
        return self.rejected_global + self.rejected_chat

    @property
    def tracked_chats(self) -> int:
        """Chats whose window or penalty is still live (for memory checks)."""
        with self._lock:
            return len(self._chats)

    def __call__(self, method: str, params: Params) -> None:
        """Accept (and log) a posting request, or raise the 429 Telegram would send."""
        if not is_posting(method):
            return
        chat_id = target_chat(params)
        penalty = self.limits.penalty
        with self._lock:
            now = self._clock()
            self._evict(now)
            chat = None if chat_id is None else self._chats.get(chat_id)
            retry = self._global.penalty_left(now)
            if retry:
                self.rejected_global += 1
                raise _too_many(retry)
            retry = chat.penalty_left(now) if chat else 0
            if retry:
                self.rejected_chat += 1
                raise _too_many(retry)
            retry = self._global.overflow(now, penalty)
            if retry:
                self.rejected_global += 1
                raise _too_many(retry)
            if chat_id is not None:
                if chat is None:
                    chat = self._chats[chat_id] = _Scope(
                        self._private if chat_id > 0 else self._group
                    )
                self._chats.move_to_end(chat_id)
                retry = chat.overflow(now, penalty)
                if retry:
                    self.rejected_chat += 1
                    raise _too_many(retry)
                chat.hits.append(now)
            self._global.hits.append(now)
            self.accepted += 1

    def _evict(self, now: float) -> None:
        """Drop idle chats from the least recently touched end; O(1) amortised."""
        while self._chats:
            chat_id, scope = next(iter(self._chats.items()))
            if not scope.idle(now):
                return
            del self._chats[chat_id]

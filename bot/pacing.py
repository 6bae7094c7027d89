"""Proactive pacing at Telegram's limits: global, per private chat, per group.

Telegram counts messages in windows (about 30/s per bot, 1/s per private
chat, 20/min per group or channel) and answers a burst over them with a 429
and a penalty. A sliding log per scope keeps us at most `limit` sends in any
window, so the stand-in's (and, we expect, Telegram's) counting never trips.
Token buckets with a burst (aiolimiter's leaky bucket, for one) can put up
to twice the limit into one window, which is exactly what earns a 429.

A send is counted from its grant until a window after the Bot API's answer:
Telegram counted it somewhere between the two, so a window that holds each
send from its answer (and, while the request is out, for as long as it is
out) never holds fewer sends than Telegram's does, however late our loop,
the network or the far end was. The transport says when a request goes out
(`sending()`) and when its answer is in (`answered()`). That makes a padded
window unnecessary: `margin` (default 0) only pads it further, and each
padding millisecond costs a thousandth of the rate (the 20 ms it was cost 2%).

Global sends are also spread evenly (GCRA). Its tolerance is a few intervals
and at least `SPREAD_TOLERANCE` seconds (at Telegram's own 30/s the intervals
are longer: nothing changes there). At 300/s a few intervals (13 ms) were
shorter than the loop's ordinary stalls (a claim of 200 rows, a GC pass, a
wait for a core on a loaded machine), and the time a stall took beyond the
tolerance was lost for good (a 30 ms claim every 200 sends: 2.5% of the rate).
The sliding windows, not the spread, are what keep every window at Telegram's
end within the limit.

Replies to commands share these windows with alerts and go first: an alert
waits while a reply to its chat is waiting, or while a reply that only the
global budget holds back is waiting (someone is looking at their screen).
"""

from __future__ import annotations

import asyncio
import time
from bisect import insort
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass

GROUP_TYPES = frozenset({"group", "supergroup", "channel"})
SPREAD_BURST = 4  # global sends may bunch up this many intervals...
SPREAD_TOLERANCE = 0.1  # ...or this many seconds' worth, whichever is more


@dataclass(frozen=True)
class Limits:
    """Telegram's published limits; all configurable (the bench runs them x10)."""

    global_per_second: float = 30.0
    private_per_second: float = 1.0
    group_per_minute: float = 20.0
    margin: float = 0.0


class _Grant:
    """A slot taken and not yet answered: the windows it was recorded in, and when."""

    __slots__ = ("at", "chat", "out", "pacer")

    def __init__(self, pacer: Pacer, chat: SlidingWindow, at: float) -> None:
        self.pacer: Pacer | None = pacer
        self.chat = chat
        self.at = at
        self.out = False  # the request went out: it counts until answered


# The slot this task took last, until its request is answered (`answered`).
_granted: ContextVar[_Grant | None] = ContextVar("pacing_granted", default=None)


def sending() -> None:
    """This task's last slot is going out now: count it, however long, until it is answered.

    Called by the transport (`bot.transport`) before each request, which then
    promises an `answered()`. A no-op outside a paced send, or called again.
    """
    grant = _granted.get()
    if grant is None or grant.pacer is None or grant.out:
        return
    grant.out = True
    grant.pacer.global_window.hold(grant.at)
    grant.chat.hold(grant.at)


def answered() -> None:
    """This task's last slot was answered (or failed) now: count its send until a window from now.

    Called by the transport (`bot.transport`) after each request. A no-op
    outside a paced send, and for a slot already moved.
    """
    grant = _granted.get()
    if grant is None or grant.pacer is None:
        return
    pacer, grant.pacer = grant.pacer, None
    now = max(pacer.clock(), grant.at)
    pacer.global_window.restamp(grant.at, now, held=grant.out)
    grant.chat.restamp(grant.at, now, held=grant.out)


class SlidingWindow:
    """At most `limit` events in any `period` seconds.

    An event `hold()` marks (a request that went out) does not leave the window
    with its time: until `restamp()` (its answer) it still counts, as `out`.
    """

    __slots__ = ("held", "limit", "out", "period", "times")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.times: deque[float] = deque()
        self.held: dict[float, int] = {}  # times in `times` whose request is out
        self.out = 0  # requests out whose time has left `times`

    @classmethod
    def for_rate(cls, rate: float, unit: float, margin: float) -> SlidingWindow:
        """`rate` events per `unit` seconds; a rate below one becomes 1 per 1/rate units."""
        if rate >= 1:
            return cls(int(rate), unit + margin)
        return cls(1, unit / rate + margin)

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0: now)."""
        times = self.times
        while times and times[0] <= now - self.period:
            self._unhold(times.popleft(), out=True)
        if len(times) + self.out < self.limit:
            return 0.0
        if not times:  # full of requests still out: the next answer frees one
            return self.period
        return times[0] + self.period - now

    def record(self, now: float) -> None:
        self.times.append(now)

    def hold(self, then: float) -> None:
        """The event recorded at `then` is out: it counts until `restamp`, even past the window."""
        if self.times and self.times[0] <= then:
            self.held[then] = self.held.get(then, 0) + 1
        else:  # already left the window
            self.out += 1

    def _unhold(self, then: float, *, out: bool) -> bool:
        """Drop a hold on `then`; `out`: it still counts, apart. Whether there was one."""
        count = self.held.get(then)
        if not count:
            return False
        if count == 1:
            del self.held[then]
        else:
            self.held[then] = count - 1
        if out:
            self.out += 1
        return True

    def restamp(self, then: float, now: float, *, held: bool = False) -> None:
        """An event recorded at `then` happened at `now` (later): count it from there.

        `held`: it was marked by `hold` (its request was out until now).
        """
        times = self.times
        if held and not self._unhold(then, out=False) and self.out:
            self.out -= 1  # it had left `times`, and counted apart
        else:
            with suppress(ValueError):  # not there: already out of the window, counts again
                times.remove(then)
        if not times or times[-1] <= now:
            times.append(now)
        else:
            insort(times, now)

    def idle(self, now: float) -> bool:
        """Nothing in the window and no request out: forgetting it changes nothing."""
        if self.out or self.held:
            return False
        return not self.times or self.times[-1] <= now - self.period


class Pacer:
    """The windows of one bot: one global, one per chat, plus a 429 pause."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.global_window = SlidingWindow.for_rate(limits.global_per_second, 1.0, limits.margin)
        self._interval = self.global_window.period / self.global_window.limit
        self._tolerance = max(self._interval * SPREAD_BURST, SPREAD_TOLERANCE)
        self._next_at = 0.0  # GCRA: the theoretical time of the next global send
        self._chats: dict[int, SlidingWindow] = {}
        self._paused_until = 0.0
        self._recorded = 0
        self._first: dict[int, int] = {}  # chat -> replies waiting for it (they go first)
        self._turn: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None  # see _line

    def _chat_window(self, chat_id: int, chat_type: str) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            if chat_type in GROUP_TYPES or chat_id < 0:
                window = SlidingWindow.for_rate(
                    self.limits.group_per_minute, 60.0, self.limits.margin
                )
            else:
                window = SlidingWindow.for_rate(
                    self.limits.private_per_second, 1.0, self.limits.margin
                )
            self._chats[chat_id] = window
        return window

    def chat_wait(self, chat_id: int, chat_type: str) -> float:
        """Seconds until this chat may receive another message."""
        return self._chat_window(chat_id, chat_type).wait(self.clock())

    def paused_for(self) -> float:
        """Seconds left of the pause a 429 imposed (0: not paused)."""
        return max(0.0, self._paused_until - self.clock())

    def pause(self, seconds: float) -> None:
        """Stop all sending for `seconds` (a 429's retry_after plus a margin)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def acquire(self, chat_id: int, chat_type: str, *, first: bool = False) -> None:
        """Wait until the pause, the global window and the chat's window allow a send; take it.

        `first` (a reply to a command) goes ahead of every send that is not.

        Sends that are not `first` wait their turn in line, and only the one at
        the head watches the clock: with every waiter sleeping to the same next
        slot, all of them woke at each slot for one to take it (a dozen wake-ups
        a send at 300/s, on the loop that also sends), and the one that took it
        was whichever woke first. A head whose own chat must wait steps out of
        line for that time, so it holds back no one else.
        """
        chat = self._chat_window(chat_id, chat_type)
        if first:
            self._first[chat_id] = self._first.get(chat_id, 0) + 1
            try:
                await self._take(chat, chat_id, first=True)
            finally:
                self._first[chat_id] -= 1
                if not self._first[chat_id]:
                    del self._first[chat_id]
            return
        while True:
            async with self._line():
                wait = await self._take(chat, chat_id, first=False)
                if wait == 0:
                    return
            await asyncio.sleep(wait)  # out of line: this chat's window, or a reply to it

    async def _take(self, chat: SlidingWindow, chat_id: int, *, first: bool) -> float:
        """Take a slot once the limits allow (0); or, not `first`, the chat's own wait (> 0)."""
        while True:
            now = self.clock()
            own = chat.wait(now)
            if not first and (own > 0 or chat_id in self._first):
                return max(own, self._interval)
            wait = max(
                self._paused_until - now,
                self.global_window.wait(now),
                self._next_at - self._tolerance - now,
                own,
            )
            if wait <= 0 and (first or not self._yields_to_first(chat_id, now)):
                self.global_window.record(now)
                self._next_at = max(self._next_at, now) + self._interval
                chat.record(now)
                _granted.set(_Grant(self, chat, now))
                self._forget_idle_chats(now)
                return 0.0
            await asyncio.sleep(wait if wait > 0 else self._interval)

    def _line(self) -> asyncio.Lock:
        """The line of sends waiting their turn (FIFO), one per event loop."""
        loop = asyncio.get_running_loop()
        if self._turn is None or self._turn[0] is not loop:
            self._turn = (loop, asyncio.Lock())
        return self._turn[1]

    def _yields_to_first(self, chat_id: int, now: float) -> bool:
        """A reply waits for this chat, or one whose own chat window is open waits anywhere."""
        if chat_id in self._first:
            return True
        return any(self._chats[c].wait(now) <= 0 for c in self._first if c in self._chats)

    def seed(self, sends: list[tuple[int, str, float]]) -> None:
        """Remember sends made before a restart, as (chat_id, chat_type, seconds ago).

        A restarted sender knows nothing of the second before it died, and
        Telegram still counts it. The recorded sends refill the windows; and
        as sends in flight at a crash were never recorded, the global window
        is treated as full until a period after the last recorded send.
        """
        now = self.clock()
        touched = {id(self.global_window): self.global_window}
        for chat_id, chat_type, ago in sorted(sends, key=lambda send: -send[2]):
            window = self._chat_window(chat_id, chat_type)
            window.record(now - ago)
            touched[id(window)] = window
            self.global_window.record(now - ago)
        for window in touched.values():  # sends paced before the seed (replies) keep order
            window.times = deque(sorted(window.times))
        recent = [ago for _chat, _type, ago in sends if ago < self.global_window.period]
        if recent:
            self.pause(self.global_window.period - min(recent))

    def _forget_idle_chats(self, now: float) -> None:
        """Drop windows that no longer hold anything, so 100k chats cost no memory."""
        self._recorded += 1
        if self._recorded % 1024:
            return
        for chat_id in [c for c, w in self._chats.items() if w.idle(now)]:
            del self._chats[chat_id]

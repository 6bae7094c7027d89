"""The sliding windows that keep us under Telegram's limits, on a fake clock."""

from __future__ import annotations

import asyncio
import time

from telegram import Bot

from bot.pacing import Limits, Pacer, SlidingWindow
from bot.transport import AiohttpRequest
from crackdown.standin import BotApiStandIn
from crackdown.standin.limits import FloodLimits
from tests.bot.conftest import Clock
from tests.conftest import TOKEN


def count_in_any_window(times: list[float], period: float) -> int:
    """The most events any window of `period` seconds holds (what a server counts)."""
    return max(sum(1 for t in times if start <= t < start + period) for start in times)


def test_a_window_admits_its_limit_then_says_how_long_to_wait() -> None:
    window = SlidingWindow(3, 1.0)
    for t in (0.0, 0.1, 0.2):
        assert window.wait(t) == 0
        window.record(t)
    assert window.wait(0.5) == 0.5
    assert window.wait(1.0) == 0  # the first event has left the window


def test_rates_below_one_become_one_event_per_longer_window() -> None:
    assert (
        SlidingWindow.for_rate(0.5, 1.0, 0).limit,
        SlidingWindow.for_rate(0.5, 1.0, 0).period,
    ) == (
        1,
        2.0,
    )
    assert SlidingWindow.for_rate(20, 60.0, 0.02).period == 60.02


def test_acquire_never_lets_any_window_hold_more_than_the_limit(clock: Clock) -> None:
    """Drive the pacer as fast as it allows on a simulated clock; count like a server would."""
    pacer = Pacer(Limits(global_per_second=30, margin=0.02), clock=clock)
    sent: list[float] = []

    async def go() -> None:
        for i in range(300):
            await pacer.acquire(i, "private")  # 300 different chats
            sent.append(clock.now)

    asyncio.run(go())
    assert count_in_any_window(sent, 1.0) <= 30
    rate = (len(sent) - 1) / (sent[-1] - sent[0])
    assert rate >= 0.95 * 30  # and we do use the limit


def test_sends_are_spread_not_bunched(clock: Clock) -> None:
    """At most the spread's tolerance (100 ms, 10 sends at 100/s) goes out in a bunch."""
    pacer = Pacer(Limits(global_per_second=100, margin=0.0), clock=clock)
    sent: list[float] = []

    async def go() -> None:
        for i in range(50):
            await pacer.acquire(i, "private")
            sent.append(clock.now)

    asyncio.run(go())
    assert count_in_any_window(sent, 0.1) <= 10 + 11  # the even rate plus a small burst, not 100


def test_many_waiters_wake_about_once_a_send_not_all_at_every_slot() -> None:
    """The delivery worker keeps a dozen sends waiting; one should watch the clock, not all.

    On the real clock (the simulated one moves at every sleep, which hides this):
    all of them sleeping to the same next slot woke all of them at every slot, a
    dozen wake-ups a send on the loop that also sends them, at 300 sends a second.
    """
    reads = 0

    def clock() -> float:
        nonlocal reads
        reads += 1
        return time.monotonic()

    pacer = Pacer(Limits(global_per_second=200, margin=0.0), clock=clock)
    sent: list[float] = []

    async def sender(first_chat: int) -> None:
        for chat in range(first_chat, first_chat + 10):
            await pacer.acquire(chat, "private")
            sent.append(time.monotonic())

    async def go() -> None:
        await asyncio.gather(*(sender(1000 * n) for n in range(16)))

    asyncio.run(go())
    assert len(sent) == 160
    assert reads <= 3 * len(sent)  # a read a wake-up: 12-16 a send before
    assert count_in_any_window(sent, 1.0) <= 200


def test_a_chat_waits_its_own_window_while_others_go_on(clock: Clock) -> None:
    pacer = Pacer(Limits(), clock=clock)
    asyncio.run(pacer.acquire(1, "private"))
    assert 0.99 <= pacer.chat_wait(1, "private") <= 1.03
    assert pacer.chat_wait(2, "private") == 0
    for _ in range(20):  # a group may take 20 quickly, then waits out the minute
        assert pacer.chat_wait(-7, "group") == 0
        asyncio.run(pacer.acquire(-7, "group"))
    assert pacer.chat_wait(-7, "group") > 59


def test_a_pause_holds_every_chat(clock: Clock) -> None:
    pacer = Pacer(Limits(), clock=clock)
    pacer.pause(5)
    clock.now += 2
    assert 2.9 <= pacer.paused_for() <= 3.0
    pacer.pause(1)  # a shorter pause never shortens a longer one
    assert pacer.paused_for() > 2.9


def test_idle_chat_windows_are_forgotten(clock: Clock) -> None:
    pacer = Pacer(Limits(global_per_second=1e9), clock=clock)
    for chat in range(5000):
        asyncio.run(pacer.acquire(chat, "private"))
        clock.now += 0.01
    assert len(pacer._chats) < 1200  # only about the last second's chats are remembered


def test_a_restarted_pacer_remembers_the_sends_before_it(clock: Clock) -> None:
    pacer = Pacer(Limits(global_per_second=30, margin=0.0), clock=clock)
    pacer.seed([(1, "private", 0.4), (-5, "group", 30.0)] + [(-5, "group", 1.0)] * 19)
    assert 0.59 <= pacer.paused_for() <= 0.61  # the global window is full until 1 s after
    assert 0.59 <= pacer.chat_wait(1, "private") <= 0.61
    assert 29 <= pacer.chat_wait(-5, "group") <= 30.01  # 20 in the last minute already
    assert pacer.chat_wait(2, "private") == 0


def test_a_stalled_loop_never_makes_the_server_see_a_window_over_the_limit(
    standin: BotApiStandIn,
) -> None:
    """Real clock, real PTB sends, the loop stalled on purpose between grants and writes.

    A stall (a claim, a GC pause) holds up requests already granted: they reach
    the server later than their slot, and counted from the slot, the sends a
    window after them made one window too many. With no margin at all the
    server (same clock) must still never count more than the limit in a second.
    """
    rate, sends, stall = 40, 120, 0.12
    for user in range(1, sends + 1):
        standin.add_user(user, f"u{user}")
    standin.enforce_limits(FloodLimits(global_per_second=rate, penalty=1))
    pacer = Pacer(Limits(global_per_second=rate, private_per_second=1000, margin=0.0))
    granted: list[float] = []

    async def send(bot: Bot, chat_id: int) -> None:
        await pacer.acquire(chat_id, "private")
        granted.append(time.monotonic())
        message = bot.send_message(chat_id, "x")
        if chat_id % 10 == 0:  # the loop stalls before this request is written
            asyncio.get_running_loop().call_soon(time.sleep, stall)
        await message

    async def go() -> None:
        async with Bot(TOKEN, base_url=standin.base_url, request=AiohttpRequest(16)) as bot:
            lanes = asyncio.Semaphore(8)

            async def lane(chat_id: int) -> None:
                async with lanes:
                    await send(bot, chat_id)

            await asyncio.gather(*(lane(chat_id) for chat_id in range(1, sends + 1)))

    asyncio.run(go())
    arrived = sorted(m.sent_at for m in standin.sent_messages())
    summary = standin.summary()
    assert summary["messages"] == sends and summary["duplicates"] == 0
    assert summary["rate_limited"] == 0
    assert count_in_any_window(arrived, 1.0) <= rate
    # and the pacing still runs at the limit, not far below it
    assert (sends - 1) / (granted[-1] - granted[0]) >= 0.8 * rate

"""The pacer uses the whole configured rate, and the far end still never counts more.

Simulated clock for the rates (deterministic: a loaded machine cannot make
them flaky); the real stand-in, recording when each message arrived, for the
limits over any window.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime

from telegram import Bot

from bot import pacing
from bot.delivery import DeliverySettings, DeliveryWorker
from bot.pacing import Limits, Pacer
from bot.transport import AiohttpRequest
from crackdown.standin import BotApiStandIn
from crackdown.standin.limits import target_chat
from crackdown.standin.methods import Params
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import sources, stories, subscribers
from storage.db import Database
from tests.bot.conftest import Clock
from tests.bot.test_pacing import count_in_any_window
from tests.conftest import TOKEN
from tests.probing import shipped_matcher


def paced_sends(
    pacer: Pacer, clock: Clock, sends: int, *, rtt: float, stall_every: int = 0, stall: float = 0
) -> tuple[list[float], list[float]]:
    """Grant, send and answer `sends` messages one after the other; (grant times, answer times).

    Every `stall_every` sends the loop is held up for `stall` seconds (a claim of
    the next batch of rows, a GC pass) before the next grant.
    """
    granted: list[float] = []
    answers: list[float] = []

    async def go() -> None:
        for i in range(sends):
            if stall_every and i and i % stall_every == 0:
                clock.now += stall
            await pacer.acquire(i, "private")
            granted.append(clock.now)
            clock.now += rtt
            pacing.answered()  # what the transport does when the answer is in
            answers.append(clock.now)

    asyncio.run(go())
    return granted, answers


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


def test_the_default_pacing_uses_the_whole_limit(clock: Clock) -> None:
    """Counted from Telegram's answer, a send needs no padded window: 20 ms of it cost 2%."""
    pacer = Pacer(Limits(global_per_second=300), clock=clock)
    granted, answers = paced_sends(pacer, clock, 3000, rtt=0.002)
    assert count_in_any_window(answers, 1.0) <= 300
    assert rate(granted) >= 0.99 * 300  # 98.0% with the 20 ms margin


def test_a_stalled_loop_catches_up_instead_of_losing_the_time(clock: Clock) -> None:
    """A 30 ms stall each 200 sends (a claim): the spread lets the sends catch up after it.

    With a tolerance of 4 intervals (13 ms at 300/s) each stall lost 17 ms of
    sending for good: 2.5% of the rate.
    """
    pacer = Pacer(Limits(global_per_second=300, margin=0.0), clock=clock)
    granted, answers = paced_sends(pacer, clock, 3000, rtt=0.002, stall_every=200, stall=0.03)
    assert count_in_any_window(answers, 1.0) <= 300
    assert rate(granted) >= 0.99 * 300


def test_a_request_out_longer_than_a_window_counts_until_it_is_answered(clock: Clock) -> None:
    """A request the far end reads a second late is counted there then: here too until then."""
    from bot.pacing import sending

    pacer = Pacer(Limits(global_per_second=3, margin=0.0), clock=clock)

    async def slow_send() -> None:
        await pacer.acquire(1, "private")
        sending()
        clock.now += 1.5  # out for longer than the window
        assert pacer.global_window.wait(clock.now) == 0  # 1 of 3 counted: room for 2 more
        await pacer.acquire(2, "private")
        await pacer.acquire(3, "private")
        assert pacer.global_window.wait(clock.now) > 0  # the one still out fills the window
        pacing.answered()

    asyncio.run(slow_send())
    assert 0.99 <= pacer.global_window.wait(clock.now) <= 1.0  # a window from its answer


# -- at the far end: the stand-in's record of arrivals -----------------------------------------

RATE, CHAT_RATE = 20, 4


def queue(db: Database, chats: list[int], busy: list[int], rounds: int) -> None:
    """`rounds` stories to the `busy` chats (their own limit binds), then one to every chat."""
    matcher = shipped_matcher()
    with db.session() as session:
        sources.sync_sources(session, [("feed", "feed", "https://a.example/feed")])
    for n in range(rounds + 1):
        with db.session() as session:
            for chat_id in busy if n < rounds else chats:
                subscribers.subscribe(session, chat_id, topic="china-crypto-enforcement")
            story = normalise(
                RawStory(
                    "feed", f"https://n.example/{n}", f"PBoC bans bitcoin OTC trading {n}", ""
                ),
                fetched_at=datetime.now(UTC),
            )
            stories.store_story(session, story, matcher.match(story))


def test_the_far_end_never_counts_more_than_the_limits_in_any_window(
    db: Database, standin: BotApiStandIn
) -> None:
    """The delivery worker at the default pacing, the server reading one request 1.3 s late.

    The late request was counted here from its grant, and left our window a
    second later while the server had not yet counted it; the sends granted
    after that made 21 in the server's second where 20 are allowed.
    """
    chats = list(range(1, 61))
    for chat_id in chats:
        standin.add_user(chat_id, f"u{chat_id}")
    busy, rounds = [1, 2, 3], 5  # three chats get six alerts each: their own limit binds
    queue(db, chats, busy, rounds)
    late_chat = 9

    def reads_late(method: str, params: Params) -> None:
        if target_chat(params) == late_chat:
            time.sleep(1.3)

    # No flood control: the stand-in records every arrival, and we count them as it would.
    standin.state.interceptors.insert(0, reads_late)
    settings = replace(
        DeliverySettings(base_backoff=0.05, max_backoff=0.2, pause_margin=0.1),
        limits=Limits(global_per_second=RATE, private_per_second=CHAT_RATE),
    )

    async def go() -> None:
        request = AiohttpRequest(16, read_timeout=10)
        async with Bot(TOKEN, base_url=standin.base_url, request=request) as bot:
            await DeliveryWorker(db, bot, {}, settings).drain()

    asyncio.run(go())
    summary = standin.summary()
    assert summary["duplicates"] == 0
    assert summary["messages"] == len(chats) + rounds * len(busy)
    arrived = sorted(m.sent_at for m in standin.sent_messages())
    assert count_in_any_window(arrived, 1.0) <= RATE
    for chat_id in busy:
        assert count_in_any_window([m.sent_at for m in standin.sent_messages(chat_id)], 1.0) <= (
            CHAT_RATE
        )


def test_a_chat_with_a_request_out_is_not_forgotten(clock: Clock) -> None:
    """Idle chats' windows are dropped every 1024 grants; one whose request is out is not idle."""
    from bot.pacing import sending

    pacer = Pacer(Limits(global_per_second=1e9, margin=0.0), clock=clock)

    async def go() -> None:
        await pacer.acquire(1, "private")
        sending()  # out, and never answered while the others go
        for chat in range(2, 2100):
            clock.now += 0.01
            await asyncio.create_task(pacer.acquire(chat, "private"))

    asyncio.run(go())
    assert pacer.chat_wait(1, "private") > 0  # still counted: its answer is not in

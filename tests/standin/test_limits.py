"""Flood limits, injected faults and chat fates of the stand-in, seen through the real PTB Bot.

Window logic runs on a fake clock so penalties can be "waited out" instantly.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from crackdown.standin import ApiError, BotApiStandIn, SentMessage
from crackdown.standin.faults import Faults
from crackdown.standin.limits import FloodControl, FloodLimits, is_posting
from crackdown.standin.methods import Params

TOKEN = "123:ABC"
USER, OTHER = 1001, 2002
ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def tg() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN) as standin:
        standin.add_user(USER, "Ann")
        standin.add_user(OTHER, "Bob")
        yield standin


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def with_bot(tg: BotApiStandIn, scenario: Callable[[Bot], Awaitable[None]]) -> None:
    """Run ``scenario`` with an initialised PTB Bot talking HTTP to the stand-in."""

    async def main() -> None:
        async with Bot(TOKEN, base_url=tg.base_url) as bot:
            await scenario(bot)

    asyncio.run(main())


def seconds(value: object) -> float:
    """RetryAfter.retry_after: a timedelta with PTB_TIMEDELTA set, an int otherwise."""
    return value.total_seconds() if isinstance(value, timedelta) else float(str(value))


async def retry_after(coro: Awaitable[object]) -> float:
    """Await a call that must hit flood control; return its retry_after in seconds."""
    with pytest.raises(RetryAfter) as caught:
        await coro
    return seconds(caught.value.retry_after)


def post(control: FloodControl | Faults, chat_id: int, method: str = "sendMessage") -> int:
    """Call an interceptor directly; 0 when accepted, else the error's status."""
    try:
        control(method, Params({"chat_id": str(chat_id), "text": "x"}))
    except ApiError as err:
        return err.status
    return 0


def post_retry(control: FloodControl, chat_id: int) -> int:
    """retry_after of a rejected direct call (0 when accepted)."""
    try:
        control("sendMessage", Params({"chat_id": chat_id}))
    except ApiError as err:
        assert err.status == 429
        assert err.parameters is not None
        retry = int(err.parameters["retry_after"])
        assert err.description == f"Too Many Requests: retry after {retry}"
        return retry
    return 0


# -- flood limits through PTB ------------------------------------------------------------------
def test_private_burst_gets_retry_after_and_penalty_holds(
    tg: BotApiStandIn, clock: FakeClock
) -> None:
    control = tg.enforce_limits(clock=clock)

    async def scenario(bot: Bot) -> None:
        await bot.send_message(USER, "1")
        assert await retry_after(bot.send_message(USER, "2")) == 3  # the 3 s penalty
        await bot.send_message(OTHER, "other chats are unaffected")
        clock.advance(1.5)  # the 1/s window has room again, but the penalty holds
        assert await retry_after(bot.send_message(USER, "3")) == 2
        clock.advance(1.5)
        await bot.send_message(USER, "4")

    with_bot(tg, scenario)
    assert [m.plain_text for m in tg.sent_messages(USER)] == ["1", "4"]
    assert (control.accepted, control.rejected_chat, control.rejected_global) == (3, 2, 0)
    assert tg.summary()["rate_limited"] == control.rejected == 2


def test_global_limit_rejects_every_chat_during_its_penalty(
    tg: BotApiStandIn, clock: FakeClock
) -> None:
    tg.add_users(range(1, 6))
    limits = FloodLimits().scaled(0.1)  # 3 per second overall, 1 per 10 s per private chat
    control = tg.enforce_limits(limits, clock=clock)

    async def scenario(bot: Bot) -> None:
        for user_id in (1, 2, 3):
            await bot.send_message(user_id, "hi")
        assert await retry_after(bot.send_message(4, "hi")) == 3
        clock.advance(2)  # global window is free again, the global penalty is not
        assert await retry_after(bot.send_message(5, "hi")) == 1
        clock.advance(1)
        await bot.send_message(4, "hi")
        await bot.send_message(5, "hi")

    with_bot(tg, scenario)
    assert [m.chat_id for m in tg.sent_messages()] == [1, 2, 3, 4, 5]
    assert (control.rejected_global, control.rejected_chat) == (2, 0)


def test_group_limit_is_twenty_per_minute(tg: BotApiStandIn, clock: FakeClock) -> None:
    tg.add_group(-100, "Watchers", "supergroup")
    tg.enforce_limits(clock=clock)

    async def scenario(bot: Bot) -> None:
        for n in range(20):
            await bot.send_message(-100, f"alert {n}")
            clock.advance(0.5)
        # t=10 s: the oldest of the 20 leaves the 60 s window at t=60, well past the penalty.
        assert await retry_after(bot.send_message(-100, "one too many")) == 50
        await bot.send_message(USER, "private chats have their own budget")
        clock.advance(49.5)
        assert await retry_after(bot.send_message(-100, "still penalised")) == 1
        clock.advance(0.5)
        await bot.send_message(-100, "alert 20")

    with_bot(tg, scenario)
    assert len(tg.sent_messages(-100)) == 21


# -- window logic on a fake clock --------------------------------------------------------------
def test_rejected_requests_are_not_counted(clock: FakeClock) -> None:
    control = FloodControl(FloodLimits(group_per_minute=2, penalty=0), clock=clock)
    assert post_retry(control, -5) == 0
    clock.advance(1)
    assert post_retry(control, -5) == 0
    clock.advance(1)
    assert post_retry(control, -5) == 58  # until the t=0 send leaves the window
    clock.advance(58)
    assert post_retry(control, -5) == 0  # had t=2 been logged, the window would be full
    clock.advance(1)
    assert post_retry(control, -5) == 0

    globally = FloodControl(FloodLimits(global_per_second=2, penalty=0), clock=clock)
    assert post_retry(globally, 1) == 0
    clock.advance(0.1)
    assert post_retry(globally, 1) == 1  # the chat's 1/s limit, not logged globally ...
    clock.advance(0.1)
    assert post_retry(globally, 2) == 0  # ... so the 2/s global budget still has room
    assert (globally.accepted, globally.rejected_chat, globally.rejected) == (2, 1, 1)


def test_sub_one_rates_scaling_and_counted_methods(clock: FakeClock) -> None:
    limits = FloodLimits(penalty=0).scaled(0.5)
    assert (limits.global_per_second, limits.private_per_second) == (15, 0.5)
    assert (limits.group_per_minute, limits.penalty) == (10, 0)
    control = FloodControl(limits, clock=clock)
    assert post_retry(control, 7) == 0
    clock.advance(1)
    assert post_retry(control, 7) == 1  # 0.5/s means one per 2 s
    clock.advance(1)
    assert post_retry(control, 7) == 0
    assert post(control, 7, "getUpdates") == post(control, 7, "getChat") == 0  # not counted
    assert post(control, 7, "SENDPHOTO") == post(control, 7, "editMessageText") == 429
    assert all(map(is_posting, ("copyMessage", "forwardMessage", "sendChatAction")))
    with pytest.raises(ValueError, match="rates must be > 0"):
        FloodLimits().scaled(0)


def test_idle_chats_are_evicted(clock: FakeClock) -> None:
    control = FloodControl(clock=clock)
    for chat_id in range(1, 10_001):
        assert post(control, chat_id) == 0
        clock.advance(0.04)  # 25/s overall: under the global limit
    assert control.accepted == 10_000
    assert control.tracked_chats <= 30  # only the last second's chats are still live
    assert post(control, -1) == 0
    clock.advance(30)
    assert post(control, 5) == 0
    assert control.tracked_chats == 2  # the group's 60 s window is still open
    clock.advance(61)
    assert post(control, 6) == 0
    assert control.tracked_chats == 1


# -- chat fates --------------------------------------------------------------------------------
def test_migrated_group_raises_chat_migrated_with_the_new_id(tg: BotApiStandIn) -> None:
    tg.add_group(-500, "Watchers", "group", admin_ids=[USER])

    async def scenario(bot: Bot) -> None:
        old = await bot.send_message(-500, "before")
        tg.migrate_group(-500, -100500)
        with pytest.raises(ChatMigrated) as caught:
            await bot.send_message(-500, "after")
        assert caught.value.new_chat_id == -100500
        with pytest.raises(ChatMigrated):
            await bot.edit_message_text("edited", -500, old.message_id)
        await bot.send_message(caught.value.new_chat_id, "after")
        chat = await bot.get_chat(-100500)
        assert (chat.type, chat.title) == ("supergroup", "Watchers")
        assert (await bot.get_chat_member(-100500, USER)).status == "creator"

    with_bot(tg, scenario)
    assert [(m.chat_id, m.plain_text) for m in tg.sent_messages()] == [
        (-500, "before"),
        (-100500, "after"),
    ]
    with pytest.raises(ValueError, match="unmigrated basic group"):
        tg.migrate_group(-500, -100600)


def test_deactivated_user_and_kicked_bot_are_forbidden(tg: BotApiStandIn) -> None:
    tg.add_group(-600, "Basic")
    tg.add_group(-100600, "Super", "supergroup")
    tg.deactivate_user(OTHER)
    tg.kick_bot(-600)
    tg.kick_bot(-100600)

    async def scenario(bot: Bot) -> None:
        for chat_id, text in [
            (OTHER, "Forbidden: user is deactivated"),
            (-600, "Forbidden: bot was kicked from the group chat"),
            (-100600, "Forbidden: bot was kicked from the supergroup chat"),
        ]:
            with pytest.raises(Forbidden) as caught:
                await bot.send_message(chat_id, "x")
            assert caught.value.message == text
            with pytest.raises(Forbidden):
                await bot.send_chat_action(chat_id, "typing")
        await bot.send_message(USER, "others still work")

    with_bot(tg, scenario)
    assert [m.chat_id for m in tg.sent_messages()] == [USER]
    with pytest.raises(ValueError, match="cannot write"):
        tg.send_text(OTHER, "a deleted account cannot write")


# -- injected faults ---------------------------------------------------------------------------
def test_error_rate_one_gives_network_errors_and_nothing_is_sent(tg: BotApiStandIn) -> None:
    tg.inject_faults(error_rate=1.0)

    async def scenario(bot: Bot) -> None:
        messages = []
        for _ in range(3):
            with pytest.raises(NetworkError) as caught:
                await bot.send_message(USER, "lost")
            assert type(caught.value) is NetworkError  # not BadRequest/TimedOut subclasses
            messages.append(caught.value.message)
        assert messages == ["Internal Server Error", "Bad Gateway", "Internal Server Error"]
        assert (await bot.get_chat(USER)).id == USER  # non-posting methods are untouched

    with_bot(tg, scenario)
    assert tg.sent_messages() == []
    assert tg.summary()["injected"] == 3


def test_timeout_fault_hangs_then_answers_504(tg: BotApiStandIn) -> None:
    tg.inject_faults(timeout_rate=1.0, timeout_seconds=0.2)

    async def scenario(bot: Bot) -> None:
        started = time.monotonic()
        with pytest.raises(NetworkError, match="Gateway Timeout"):
            await bot.send_message(USER, "lost")
        assert time.monotonic() - started >= 0.2

    with_bot(tg, scenario)
    assert tg.sent_messages() == []


def test_faults_are_deterministic_per_seed() -> None:
    def outcomes(seed: int) -> list[int]:
        slept: list[float] = []
        faults = Faults(
            error_rate=0.3, timeout_rate=0.2, timeout_seconds=9, seed=seed, sleep=slept.append
        )
        result = [post(faults, 1) for _ in range(60)]
        assert slept == [9] * result.count(504)
        assert faults.injected == sum(1 for status in result if status)
        return result

    assert outcomes(7) == outcomes(7) != outcomes(8)
    assert set(outcomes(7)) == {0, 500, 502, 504}
    with pytest.raises(ValueError, match="sum to <= 1"):
        Faults(error_rate=0.6, timeout_rate=0.6)


def test_fail_next_targets_one_chat_in_order(tg: BotApiStandIn) -> None:
    faults = tg.inject_faults()
    faults.fail_next(USER, 429, "Too Many Requests: retry after 7", {"retry_after": 7})
    faults.fail_next(USER, 400, "Bad Request: chat not found", times=2)

    async def scenario(bot: Bot) -> None:
        await bot.send_message(OTHER, "other chats are unaffected")
        assert await retry_after(bot.send_message(USER, "1")) == 7
        for _ in range(2):
            with pytest.raises(BadRequest, match="Chat not found"):
                await bot.send_message(USER, "2")
        await bot.send_message(USER, "3")

    with_bot(tg, scenario)
    assert [m.plain_text for m in tg.sent_messages(USER)] == ["3"]
    summary = tg.summary()
    assert (summary["injected"], summary["rate_limited"]) == (3, 1)


# -- summary and CLI ---------------------------------------------------------------------------
def test_summary_counts_duplicates_and_is_served_over_http(tg: BotApiStandIn) -> None:
    assert tg.summary()["first_at"] is None

    async def scenario(bot: Bot) -> None:
        first = await bot.send_message(USER, "a")
        await bot.send_message(USER, "a")  # a duplicate
        await bot.send_message(USER, "b")
        await bot.send_message(OTHER, "a")  # same text, other chat: not a duplicate
        await bot.edit_message_text("c", USER, first.message_id)  # edits are not sends

    with_bot(tg, scenario)
    summary = tg.summary()
    assert summary["first_at"] <= summary["last_at"]
    expected = {"messages": 4, "chats": 2, "duplicates": 1, "rate_limited": 0, "injected": 0}
    assert {key: summary[key] for key in expected} == expected
    assert summary["requests"] == 6  # getMe, 4 x sendMessage, editMessageText
    served = httpx.get(tg.base_url.removesuffix("/bot") + "/_sim/summary").json()["result"]
    assert served == summary


def test_summary_stays_cheap_for_ten_thousand_messages(tg: BotApiStandIn) -> None:
    for n in range(10_000):
        tg.state.record(SentMessage(n % 100, n, str(n % 5000), "", None, "sendMessage", n, False))
    started = time.perf_counter()
    summary = tg.summary()
    assert time.perf_counter() - started < 0.05
    assert (summary["messages"], summary["chats"], summary["duplicates"]) == (10_000, 100, 5000)
    assert (summary["first_at"], summary["last_at"]) == (0, 9999)
    tg.wait_for_messages(100, chat_id=5, timeout=0.1)


def test_cli_flags_register_users_and_enforce_limits() -> None:
    command = [sys.executable, "-m", "crackdown.standin", "--port", "0", "--users", "1:3"]
    with subprocess.Popen(
        [*command, "--limits", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            base_url = proc.stdout.readline().strip()  # the first line, as a parent reads it
            assert base_url.startswith("http://127.0.0.1:")
            with httpx.Client(base_url=base_url.removesuffix("/bot"), timeout=5) as client:

                def send(chat_id: int) -> int:
                    data = {"chat_id": chat_id, "text": "x"}
                    return client.post("/bot123456:STANDIN/sendMessage", data=data).status_code

                assert [send(3), send(4), send(1), send(1)] == [200, 400, 200, 429]
                summary = client.get("/_sim/summary").json()["result"]
        finally:
            proc.terminate()
            proc.wait(timeout=5)
    assert (summary["messages"], summary["chats"], summary["rate_limited"]) == (2, 2, 1)
    assert summary["requests"] == 4

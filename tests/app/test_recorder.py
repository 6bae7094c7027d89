"""The recorder's batching rule: transactions stay full when storing keeps up, alerts prompt."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

from crackdown.runtime.poll_results import SourcePoll
from crackdown.runtime.recorder import BatchRecorder


class SlowStore:
    """A store that takes `seconds` a batch (in the recorder's thread) and notes each batch."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.batches: list[list[str]] = []
        self.stored_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, polls: Sequence[str]) -> list[SourcePoll | Exception]:
        time.sleep(self.seconds)
        with self._lock:
            self.batches.append(list(polls))
            now = time.monotonic()
            self.stored_at.update((key, now) for key in polls)
        return [SourcePoll(key, "HTTP 200") for key in polls]


async def _arrive(recorder: BatchRecorder, keys: list[str], every: float) -> list[SourcePoll]:
    async def one(i: int, key: str) -> SourcePoll:
        await asyncio.sleep(i * every)
        return await recorder.record(key)  # type: ignore[arg-type]  # any object is stored as is

    return list(await asyncio.gather(*(one(i, key) for i, key in enumerate(keys))))


def test_transactions_stay_full_when_storing_keeps_up() -> None:
    """Polls arriving one by one while a quick store runs are gathered for `delay`, not stored
    one or two at a time after each batch (the old rule: 11 transactions for these 24)."""
    store = SlowStore(seconds=0.005)
    recorder = BatchRecorder(store, max_batch=64, delay=0.12)
    keys = [f"feed-{i}" for i in range(24)]

    results = asyncio.run(_arrive(recorder, keys, every=0.01))

    assert [r.key for r in results] == keys
    assert sorted(key for batch in store.batches for key in batch) == sorted(keys)
    assert len(store.batches) <= 3, [len(b) for b in store.batches]


def test_a_full_batch_is_stored_at_once_and_a_lone_poll_within_delay() -> None:
    store = SlowStore(seconds=0.0)
    recorder = BatchRecorder(store, max_batch=8, delay=0.3)

    async def scenario() -> tuple[float, float]:
        started = time.monotonic()
        await asyncio.gather(*(recorder.record(f"full-{i}") for i in range(8)))  # type: ignore[arg-type]
        full = time.monotonic() - started
        started = time.monotonic()
        await recorder.record("lone")  # type: ignore[arg-type]
        return full, time.monotonic() - started

    full, lone = asyncio.run(scenario())
    assert full < 0.2  # no wait for `delay`: the batch was full
    assert 0.25 < lone < 0.3 + 0.25  # waited for others, then stored, never much past `delay`


def test_polls_arriving_during_a_store_wait_no_longer_than_delay() -> None:
    """After a long store the waiting polls go at once: they have waited `delay` already."""
    store = SlowStore(seconds=0.4)
    recorder = BatchRecorder(store, max_batch=64, delay=0.1)

    async def scenario() -> dict[str, float]:
        arrived: dict[str, float] = {}

        async def one(key: str, after: float) -> None:
            await asyncio.sleep(after)
            arrived[key] = time.monotonic()
            await recorder.record(key)  # type: ignore[arg-type]

        await asyncio.gather(one("first", 0.0), one("second", 0.15), one("third", 0.2))
        return arrived

    arrived = asyncio.run(scenario())
    assert [len(b) for b in store.batches] == [1, 2]
    # the first store ends at about 0.5 s; "second" has waited 0.35 s by then: no more waiting
    assert store.stored_at["second"] - arrived["second"] < 0.35 + 0.4 + 0.15

"""Successful polls stored together: one transaction for polls that end at about one time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from crackdown.runtime.poll_results import PollSuccess, SourcePoll


class BatchRecorder:
    """Stores successful polls in batches: one transaction for the polls that end together.

    Why: per feed, a transaction and its dozen statements cost more than the
    rows themselves; a busy cycle stores a few polls per transaction instead.
    A poll waits at most `delay` seconds for others to join it (nothing in a
    quiet tick) and a batch holds at most `max_batch` polls, so the write
    lock is held for a few tens of milliseconds at most.

    When a batch is stored, the polls that arrived meanwhile are stored at
    once only if they fill a batch or the first of them has waited `delay`
    already; otherwise they wait out the rest of it. Why: when storing keeps
    up (the parse workers do the per-story work), storing whatever had
    arrived made transactions of one or two polls, and a transaction's fixed
    costs (clustering's reads, the statements, the commit) then cost more a
    feed than the work saved (bench/README.md, session 9).

    Batches are stored in a worker thread, one at a time: storing (matching,
    clustering, the database's round trips) takes from milliseconds to a
    second or two in a first cycle, and on the event loop it held up every
    fetch in flight meanwhile. Polls ending while one batch is stored join
    the next.
    """

    def __init__(
        self,
        store: Callable[[Sequence[PollSuccess]], list[SourcePoll | Exception]],
        *,
        max_batch: int,
        delay: float,
    ) -> None:
        self._store = store
        self.max_batch = max_batch
        self.delay = delay
        self._pending: list[tuple[PollSuccess, asyncio.Future[SourcePoll]]] = []
        self._first_wait: float = 0.0  # loop time at which the oldest pending poll arrived
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._storing: set[asyncio.Task[None]] = set()  # batches being stored, by thread

    async def record(self, poll: PollSuccess) -> SourcePoll:
        """Store `poll` with the others that arrive within `delay`; its line in `crackdown poll`."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[SourcePoll] = loop.create_future()
        if not self._pending:
            self._first_wait = loop.time()
        self._pending.append((poll, done))
        if len(self._pending) >= self.max_batch:
            self._reschedule(loop, 0.0)
        elif self._timer is None or self._timer_loop is not loop:  # (a cancelled run's loop)
            self._reschedule(loop, self.delay)
        return await done

    def _reschedule(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_loop = loop.call_later(delay, self._flush), loop

    def _flush(self) -> None:
        self._timer = self._timer_loop = None
        loop = asyncio.get_running_loop()
        if self._storing:  # one batch at a time: this one grows until that one is stored
            return
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        live = [(poll, done) for poll, done in batch if not done.cancelled()]
        if live:
            task = loop.create_task(self._store_batch(live))
            self._storing.add(task)
            task.add_done_callback(self._stored)
        elif self._pending:
            self._reschedule(loop, 0.0)

    def _stored(self, task: asyncio.Task[None]) -> None:
        self._storing.discard(task)
        if self._pending:
            loop = asyncio.get_running_loop()
            full = len(self._pending) >= self.max_batch
            waited = loop.time() - self._first_wait
            self._reschedule(loop, 0.0 if full else max(self.delay - waited, 0.0))

    async def _store_batch(
        self, live: list[tuple[PollSuccess, asyncio.Future[SourcePoll]]]
    ) -> None:
        try:
            results = await asyncio.to_thread(self._store, [poll for poll, _ in live])
        except Exception as exc:  # never lose a waiter to a bug in storing
            results = [exc] * len(live)
        except asyncio.CancelledError:  # the loop is closing: the thread finishes its batch
            for _, done in live:
                done.cancel()
            raise
        for (_, done), result in zip(live, results, strict=True):
            if done.cancelled():
                continue
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)

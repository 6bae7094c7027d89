"""The wall clock stepping back must not stall the daemon's jobs.

APScheduler 3 plans interval jobs in wall-clock time but sleeps on the event
loop's monotonic clock. When the wall clock is stepped back an hour (a VM
restored from a snapshot, an RTC corrected by NTP after boot, `date -s`),
every job's next run lies an hour ahead in monotonic time, and the daemon
polls, delivers and reads commands no more until then (under systemd, the
watchdog restarts it instead). `ClockWatch` compares the two clocks;
`guard_scheduler` runs every job at once when the wall clock went back, and
tells `on_step_back`, which moves the sources' stored next polls as much
sooner. A step forward needs nothing: the jobs' missed runs fold into one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)


class ClockWatch:
    """Notices the wall clock stepping back against the monotonic clock."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        tolerance: float = 2.0,
    ) -> None:
        """`tolerance`: seconds of difference ignored (NTP slews at most 0.5 ms a second)."""
        self._wall, self._monotonic = wall, monotonic
        self.tolerance = tolerance
        self._offset = wall() - monotonic()

    def stepped_back(self) -> float:
        """Seconds the wall clock went back since the last call (0.0: it did not)."""
        offset = self._wall() - self._monotonic()
        back, self._offset = self._offset - offset, offset
        return back if back > self.tolerance else 0.0


def run_all_now(scheduler: BaseScheduler) -> None:
    """Every job's next run: now (a running job's max_instances=1 still holds)."""
    now = datetime.now(UTC)
    for job in scheduler.get_jobs():
        job.modify(next_run_time=now)


async def guard_scheduler(
    scheduler: BaseScheduler,
    watch: ClockWatch,
    every: float = 1.0,
    on_step_back: Callable[[float], Awaitable[None]] | None = None,
) -> None:
    """Run until cancelled; after a step back of the wall clock, run every job now (after
    `on_step_back(seconds)`, if given)."""
    while True:
        await asyncio.sleep(every)
        back = watch.stepped_back()
        if back:
            log.warning("the wall clock went back %.0f s: running the scheduled jobs now", back)
            if on_step_back is not None:
                await on_step_back(back)
            run_all_now(scheduler)

"""The wall clock stepped back an hour: the daemon's jobs run now, not an hour later.

The step itself cannot be made here (setting the clock needs CAP_SYS_TIME), so the
scheduler is put in the state a step back leaves it in: every interval job's next
run an hour ahead on the wall clock. APScheduler then sleeps an hour (the control
case below); with the guard the daemon runs, the jobs run within a second or two.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from crackdown.runtime.clockjump import ClockWatch, guard_scheduler


class Clock:
    def __init__(self) -> None:
        self.wall, self.monotonic = 1_000_000.0, 50.0

    def tick(self, seconds: float, wall_step: float = 0.0) -> None:
        self.monotonic += seconds
        self.wall += seconds + wall_step


def test_a_step_back_is_noticed_once_and_slewing_or_a_step_forward_is_not() -> None:
    clock = Clock()
    watch = ClockWatch(lambda: clock.wall, lambda: clock.monotonic)
    clock.tick(1.0, wall_step=0.0005)  # NTP slewing
    assert watch.stepped_back() == 0.0
    clock.tick(1.0, wall_step=3600)  # forward: missed runs fold into one, nothing to do
    assert watch.stepped_back() == 0.0
    clock.tick(1.0, wall_step=-3600)
    assert watch.stepped_back() == 3600
    clock.tick(1.0)
    assert watch.stepped_back() == 0.0


def runs_within(seconds: float, guarded: bool) -> int:
    """Runs of a 1 s interval job planned an hour ahead (as a step back leaves it)."""
    runs: list[float] = []

    async def go() -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)

        async def job() -> None:
            runs.append(time.monotonic())

        scheduler.add_job(
            job,
            "interval",
            seconds=1,
            next_run_time=datetime.now(UTC) + timedelta(hours=1),
            coalesce=True,
            max_instances=1,
        )
        scheduler.start()
        stepped = [False]

        def wall() -> float:  # the wall clock, stepped back an hour after the first reading
            if stepped[0]:
                return time.time() - 3600
            stepped[0] = True
            return time.time()

        guard = asyncio.create_task(guard_scheduler(scheduler, ClockWatch(wall), every=0.2))
        if not guarded:
            guard.cancel()
        await asyncio.sleep(seconds)
        guard.cancel()
        scheduler.shutdown(wait=False)

    asyncio.run(go())
    return len(runs)


def test_the_jobs_run_at_once_after_a_step_back_not_an_hour_later() -> None:
    assert runs_within(2.5, guarded=False) == 0  # APScheduler alone: asleep for the hour
    assert runs_within(2.5, guarded=True) >= 1

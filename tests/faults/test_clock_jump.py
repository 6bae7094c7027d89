"""The wall clock stepped back an hour: the daemon's jobs run now, not an hour later, and
each source is polled at its interval, not an hour after it.

The step itself cannot be made here (setting the clock needs CAP_SYS_TIME), so the
scheduler is put in the state a step back leaves it in: every interval job's next
run an hour ahead on the wall clock. APScheduler then sleeps an hour (the control
case below); with the guard the daemon runs, the jobs run within a second or two.
The sources' stored next polls are put in that state too: an hour further ahead.
Old code: the jobs ran, but found no source due for an hour (seen with libfaketime
stepping a real daemon's clock back: a 20 s source went unpolled).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update

from crackdown.app import open_app
from crackdown.config import build_config
from crackdown.daemon import Daemon
from crackdown.demo.site import LoopbackSite, Page
from crackdown.runtime.clockjump import ClockWatch, guard_scheduler
from crawler.http import make_client
from storage.models import Source
from tests.crawler.test_feed_fetching import rss


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


def stepped_back_once() -> ClockWatch:
    """A watch whose wall clock goes back an hour after its first reading."""
    readings = [0]

    def wall() -> float:
        readings[0] += 1
        return time.time() - (3600 if readings[0] > 1 else 0)

    return ClockWatch(wall)


def test_each_source_is_polled_at_its_interval_after_a_step_back(
    tmp_path: Path, site: LoopbackSite
) -> None:
    site.pages["/f.xml"] = Page(rss())
    source = {"key": "s", "url": site.url("/f.xml"), "interval": "10m"}
    config = {"storage": {"url": f"sqlite:///{tmp_path / 'c.db'}"}, "sources": [source]}
    app = open_app(build_config(config, {}))
    daemon = Daemon(app)

    async def go() -> list[list[str]]:
        async with make_client(app.policy) as client:
            poller = app.poller(client)
            await poller.poll(poller.due(app.feeds()))  # next poll: in 10 minutes
            with app.db.session() as session:  # as the step back leaves it: an hour further
                planned = session.scalar(select(Source.next_poll_at))
                assert planned is not None
                session.execute(update(Source).values(next_poll_at=planned + timedelta(hours=1)))
            scheduler = AsyncIOScheduler(timezone=UTC)
            scheduler.start()
            guard = asyncio.create_task(
                guard_scheduler(
                    scheduler, stepped_back_once(), every=0.1, on_step_back=daemon.plan_sooner
                )
            )
            await asyncio.sleep(1.0)
            guard.cancel()
            scheduler.shutdown(wait=False)
            now = datetime.now(UTC)
            return [
                [s.key for s in poller.due(app.feeds(), now + timedelta(minutes=minutes))]
                for minutes in (9, 12)
            ]

    try:
        assert asyncio.run(go()) == [[], ["s"]]  # old code: [[], []], due in 70 minutes
    finally:
        app.db.dispose()

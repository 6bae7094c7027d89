"""The daemon: APScheduler and python-telegram-bot sharing one asyncio loop.

`run_once` does one full cycle (commands received so far, poll every feed,
deliver) and returns; `run_forever` schedules the same steps until SIGINT
or SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import Update
from telegram.ext import Application

from bot.delivery import DeliveryReport
from bot.handlers import publish_commands
from crackdown.app import App
from crackdown.polling import PollReport
from crawler.http import make_client

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    commands: int
    poll: PollReport
    delivery: DeliveryReport | None

    def summary(self) -> str:
        sent = (
            f"{self.delivery.sent} alerts sent"
            if self.delivery is not None
            else "no bot token: alerts queued"
        )
        line = f"{self.poll.stories} stories, {self.poll.matched} matched, {sent}"
        if self.poll.failed:
            line += (
                f" ({len(self.poll.failed)} sources failed: {', '.join(sorted(self.poll.failed))})"
            )
        return line


async def process_pending_updates(application: Application) -> int:  # type: ignore[type-arg]
    """Handle the commands that arrived while we were not running, and confirm them."""
    handled = 0
    offset: int | None = None
    while True:
        updates: tuple[Update, ...] = await application.bot.get_updates(
            offset=offset, timeout=0, allowed_updates=Update.ALL_TYPES
        )
        if not updates:
            return handled
        for update in updates:
            await application.process_update(update)
            handled += 1
        offset = updates[-1].update_id + 1


async def run_once(app: App) -> CycleReport:
    """One full cycle: commands, poll all feeds, deliver what is due."""
    token = app.config.bot_token()
    commands = 0
    delivery = None
    async with make_client(app.policy, keepalive=app.config.http.concurrency) as client:
        poller = app.poller(client)
        if token is None:
            poll = await poller.poll(app.feeds())
            return CycleReport(commands=0, poll=poll, delivery=None)
        async with app.application() as application:
            commands = await process_pending_updates(application)
            app.filters.refresh(app.db)  # a /watch just handled counts for this poll
            poll = await poller.poll(app.feeds())
            delivery = await app.delivery_worker(application.bot).drain()
    return CycleReport(commands=commands, poll=poll, delivery=delivery)


async def run_forever(app: App) -> None:
    """Serve commands, poll on schedule, deliver continuously; stop on a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    drain_lock = asyncio.Lock()
    async with (
        make_client(app.policy, keepalive=app.config.http.concurrency) as client,
        app.application() as application,
    ):
        worker = app.delivery_worker(application.bot)

        async def deliver() -> None:
            if drain_lock.locked():
                return
            async with drain_lock:
                report = await worker.drain()
            if report:
                log.info("delivery: %s", report)

        poller = app.poller(client)

        async def poll_due() -> None:
            due = poller.due(app.feeds())
            if not due:
                return
            app.filters.refresh(app.db)  # queries added with /watch since the last poll
            report = await poller.poll(due)
            if report.queued:
                await deliver()

        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for job, seconds in (
            (poll_due, app.config.polling.tick),
            (deliver, app.config.delivery.interval),
        ):
            # Start now, never run a job twice at once, and fold missed runs into one.
            scheduler.add_job(
                job,
                "interval",
                seconds=seconds,
                id=job.__name__,
                next_run_time=now,
                max_instances=1,
                coalesce=True,
            )
        await publish_commands(application.bot)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            timeout=int(app.config.telegram.poll_timeout), allowed_updates=Update.ALL_TYPES
        )
        scheduler.start()
        log.info("crackdown running: %d feeds; Ctrl-C or SIGTERM stops", len(app.feeds()))
        await stop.wait()
        log.info("stopping")
        scheduler.shutdown(wait=False)
        await application.updater.stop()
        await application.stop()
    log.info("stopped")

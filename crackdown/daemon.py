"""The daemon: APScheduler and python-telegram-bot sharing one asyncio loop.

`run_once` does one full cycle (commands received so far, poll every feed,
crawl every spider source, deliver) and returns; `run_forever` schedules the same steps, plus
housekeeping, until SIGINT or SIGTERM (see `Daemon`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import DBAPIError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.delivery import DeliveryReport, DeliveryWorker
from crackdown.app import App, CheckedConfig
from crackdown.config import Config, ConfigError
from crackdown.runtime import systemd
from crackdown.runtime.botlink import BotLink, describe
from crackdown.runtime.clockjump import ClockWatch, guard_scheduler
from crackdown.runtime.command_reader import CommandReader
from crackdown.runtime.crawling import CrawlReport
from crackdown.runtime.metrics import Heartbeat, Metrics, MetricsServer, health
from crackdown.runtime.polling import Poller, PollReport
from crawler.http import make_client
from storage.clusters import forget_before
from storage.db import database_error
from storage.housekeeping import optimize, prune
from storage.locks import COMMANDS_LOCK, Leadership
from storage.sources import plan_sooner

log = logging.getLogger(__name__)

CONNECT_FIRST = 15.0  # seconds the first poll waits for Telegram's first answer at start


@dataclass
class CycleReport:
    commands: int
    poll: PollReport
    delivery: DeliveryReport | None
    crawl: CrawlReport | None = None  # spider sources, if any are configured
    telegram_error: str | None = None  # why the Bot API could not be used, if so

    def summary(self) -> str:
        if self.telegram_error is not None:
            sent = f"alerts queued: {self.telegram_error}"
        elif self.delivery is not None:
            sent = f"{self.delivery.sent} alerts sent"
        else:
            sent = "no bot token: alerts queued"
        crawl = self.crawl or CrawlReport()
        stories, matched = self.poll.stories + crawl.stories, self.poll.matched + crawl.matched
        failed = sorted([*self.poll.failed, *crawl.failed])
        line = f"{stories} stories, {matched} matched, {sent}"
        if failed:
            line += f" ({len(failed)} sources failed: {', '.join(failed)})"
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
    """One full cycle: commands, poll all feeds, crawl all spider sources, deliver what is due.

    Telegram away (or the token rejected) does not stop the cycle: stories
    are stored and alerts queued, and `telegram_error` says why none was sent.
    """
    token = app.config.bot_token()
    async with make_client(app.policy, keepalive=app.config.http.concurrency) as client:
        poller = app.poller(client)
        if token is None:
            poll = await poller.poll(app.feeds())
            crawl = await _crawl_all(app)
            return CycleReport(commands=0, poll=poll, delivery=None, crawl=crawl)
        application = app.application()
        link = BotLink(application)
        commands, delivery, error = 0, None, None
        try:
            try:
                await application.initialize()  # getMe
                commands = await process_pending_updates(application)
            except TelegramError as exc:
                error = describe(exc)
            app.filters.refresh(app.db)  # a /watch just handled counts for this poll
            poll = await poller.poll(app.feeds())
            crawl = await _crawl_all(app)
            if error is None:
                worker = app.delivery_worker(application.bot)
                failures: list[str] = []

                def unreachable(exc: TelegramError) -> None:
                    failures.append(describe(exc))
                    worker.stop()

                worker.on_unreachable = unreachable
                delivery = await worker.drain()
                error = failures[0] if failures else None
        finally:
            await link.close()
    return CycleReport(
        commands=commands, poll=poll, delivery=delivery, crawl=crawl, telegram_error=error
    )


async def _crawl_all(app: App) -> CrawlReport | None:
    """Every enabled spider source, whatever its schedule (None when there are none)."""
    spiders = app.spiders()
    return await app.spider_runner().crawl(spiders) if spiders else None


async def run_forever(app: App, reload_config: Callable[[], Config] | None = None) -> None:
    """Serve commands, poll on schedule, deliver continuously; stop on SIGINT or SIGTERM."""
    await Daemon(app, reload_config).run()


class Daemon:
    """The long-running process: scheduler jobs, the bot, signals, metrics, shutdown.

    SIGTERM/SIGINT: stop claiming alerts, let sends in flight finish for up to
    `delivery.shutdown_grace`, then cancel what is left (those rows go back to
    the queue) and exit 0. Telegram away at start or later does not stop
    anything but sending and commands (see `crackdown.runtime.botlink`). SIGHUP:
    re-read the config; a bad one is rejected with a log line and the
    running config kept. Each job is logged with its name when it raises,
    and the scheduler goes on.
    """

    def __init__(self, app: App, reload_config: Callable[[], Config] | None = None) -> None:
        self.app = app
        self.reload_config = reload_config
        self.stopping = asyncio.Event()
        self.heartbeat = Heartbeat()
        self.metrics = Metrics(app.db)
        self._drain_lock = asyncio.Lock()
        self._poll_task: asyncio.Task[None] | None = None
        self._crawl_task: asyncio.Task[None] | None = None
        self._worker: DeliveryWorker | None = None
        self._link: BotLink | None = None
        self._reader: CommandReader | None = None
        self._commands = Leadership(app.db, COMMANDS_LOCK)
        self._poller: Poller | None = None
        self._reload_lock = asyncio.Lock()
        self._reloads: set[asyncio.Task[None]] = set()

    def _job(self, name: str, func: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            started = time.monotonic()
            try:
                await func()
            except asyncio.CancelledError:
                if not self.stopping.is_set():
                    raise
                log.info("job %s cut short by the shutdown", name)  # done again at next start
            except DBAPIError as exc:  # locked past the busy timeout, a server away: one line
                self.metrics.job_errors.labels(job=name).inc()
                log.error(
                    "job %s failed: %s; it runs again at its next time", name, database_error(exc)
                )
            except Exception:
                self.metrics.job_errors.labels(job=name).inc()
                log.exception("job %s failed; it runs again at its next time", name)
            finally:
                self.metrics.job_seconds.labels(job=name).observe(time.monotonic() - started)
                self.heartbeat.beat(name)

        run.__name__ = name
        return run

    async def deliver(self) -> None:
        if self._drain_lock.locked() or self._worker is None or self.stopping.is_set():
            return
        if self._link is None or not self._link.up.is_set():
            return  # Telegram away: alerts stay queued until it answers
        async with self._drain_lock:
            report = await self._worker.drain()
        self.metrics.observe_delivery(report)
        if report:
            log.info("delivery: %s", report)

    async def poll_due(self) -> None:
        assert self._poller is not None
        app = self.app
        due = self._poller.due(app.feeds())
        if not due:
            return
        app.filters.refresh(app.db)  # queries added with /watch since the last poll
        self._poll_task = asyncio.current_task()  # type: ignore[assignment]
        try:
            report = await self._poller.poll(due)
        finally:
            self._poll_task = None
        self.metrics.observe_poll(report)
        if report.queued:
            await self.deliver()

    async def crawl_due(self) -> None:
        """Crawl the spider sources that are due, each batch in a child process."""
        app = self.app
        spiders = app.spiders()
        if not spiders:
            return
        runner = app.spider_runner()  # per run: a SIGHUP may have changed sources or [crawl]
        due = runner.due(spiders)
        if not due:
            return
        self._crawl_task = asyncio.current_task()  # type: ignore[assignment]
        try:
            report = await runner.crawl(due)
        finally:
            self._crawl_task = None
        self.metrics.observe_poll(report)
        if report.queued:
            await self.deliver()

    async def housekeeping(self) -> None:
        retention = self.app.config.retention
        days = timedelta(days=1)
        pruned = await asyncio.to_thread(
            prune,
            self.app.db,
            datetime.now(UTC),
            unmatched_after=retention.unmatched_days * days if retention.unmatched_days else None,
            ledger_after=retention.ledger_days * days if retention.ledger_days else None,
        )
        cluster = self.app.config.cluster
        if cluster.enabled:  # bands of stories no new report can join any more
            await asyncio.to_thread(self._forget_bands, timedelta(seconds=4 * cluster.window))
        await asyncio.to_thread(optimize, self.app.db)
        if pruned:
            log.info(
                "housekeeping: deleted %d old unmatched stories, %d old ledger rows",
                pruned.stories,
                pruned.deliveries,
            )

    async def read_commands(self) -> None:
        """Read the bot's commands if this daemon leads; stand by if another one does.

        Telegram serves a bot's updates to one reader at a time. On PostgreSQL
        the daemons share the job through an advisory lock: the holder reads,
        the others try again every `telegram.leader_retry` and take over
        within that time when the holder stops or dies.
        """
        reader = self._reader
        if reader is None or self.stopping.is_set():
            return
        leads = await asyncio.to_thread(self._commands.hold)
        if leads and not reader.running:
            reader.start()  # it reads once Telegram answers
            if self._commands.shared:
                log.info("reading the bot's commands (this daemon leads)")
        elif not leads and reader.running:
            await reader.stop()
            if self._commands.unreachable is not None:
                log.warning("commands are not read until the database answers again")
            else:
                log.warning("another daemon reads the bot's commands now; standing by")

    async def plan_sooner(self, seconds: float) -> None:
        """The wall clock went back `seconds`: every source's next poll as much sooner."""
        now, by = datetime.now(UTC), timedelta(seconds=seconds)
        try:
            moved = await asyncio.to_thread(self._plan_sooner, now, by)
        except DBAPIError as exc:  # a lock past the busy timeout: those wait their time
            log.error("next polls not moved sooner: %s", database_error(exc))
            return
        if moved:
            log.info("%d sources' next polls moved %.0f s sooner", moved, seconds)

    def _plan_sooner(self, now: datetime, by: timedelta) -> int:
        with self.app.db.session() as session:
            return plan_sooner(session, now, by)

    def _forget_bands(self, after: timedelta) -> None:
        with self.app.db.session() as session:
            forget_before(session, datetime.now(UTC) - after)

    def reload(self) -> None:
        """SIGHUP: apply the config file again (`apply_config`), in a task of its own."""
        task = asyncio.get_running_loop().create_task(self.apply_config(), name="reload")
        self._reloads.add(task)  # held until done: the loop keeps only a weak reference
        task.add_done_callback(self._reloads.discard)

    async def apply_config(self) -> None:
        """Apply the config file again, or keep the running one if it is wrong.

        Reading, checking and the database's sync run in a thread: another
        process holding the database's lock (a backup) would otherwise stall
        sending and commands for the busy timeout. SIGHUPs in a row apply in
        turn.
        """
        if self.reload_config is None:
            log.warning("SIGHUP: no config file to reload")
            return
        async with self._reload_lock:
            try:
                checked = await asyncio.to_thread(self._read_and_store, self.reload_config)
            except ConfigError as exc:
                log.error("config reload rejected, the running config is kept: %s", exc)
                return
            except DBAPIError as exc:  # locked past the busy timeout, full disk: nothing applied
                log.error(
                    "config reload failed, the running config is kept: %s; send SIGHUP again",
                    database_error(exc),
                )
                return
            restart = self.app.apply_reload(checked)
            try:
                self.app.filters.refresh(self.app.db)
            except DBAPIError as exc:  # the database went away meanwhile: the next poll reads them
                log.warning("watched queries not read yet: %s", database_error(exc))
        config = checked.config
        if self._worker is not None:
            self._worker.labels = self.app.labels()
        log.info(
            "config reloaded: %d sources, %d topics, %d entities",
            len(config.sources),
            len(self.app.watchlist.topics),
            len(self.app.watchlist.entities),
        )
        if restart:
            log.warning("changed settings that apply at the next restart: %s", ", ".join(restart))

    def _read_and_store(self, read: Callable[[], Config]) -> CheckedConfig:
        """The new config read, checked and synced to the database; not yet in force."""
        checked = self.app.check_reload(read())
        self.app.store_reload(checked)
        return checked

    def _check(self) -> tuple[bool, dict[str, object]]:
        metrics = self.app.config.metrics
        return health(self.app.db, self.heartbeat, metrics.stale_after, metrics.poll_stale_after)

    async def run(self) -> None:
        app = self.app
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        server = None
        if app.config.metrics.listen:
            server = MetricsServer(app.config.metrics.listen, self.metrics, self._check).start()
            log.info("metrics on http://%s/metrics and /healthz", server.address)
        link_task: asyncio.Task[None] | None = None
        try:
            async with make_client(app.policy, keepalive=app.config.http.concurrency) as client:
                application = app.application()
                self._link = link = BotLink(application)
                self._reader = CommandReader(application, link, app.config.telegram.poll_timeout)
                self._worker = app.delivery_worker(application.bot)
                self._worker.connected = link.up.is_set
                self._worker.on_unreachable = link.lost
                self._poller = app.poller(client)
                scheduler = self._schedule()
                link_task = asyncio.create_task(link.run(), name="telegram-link")
                # Commands sent while we were down (a /start) before the first poll, if
                # Telegram answers; if not, polling starts without it.
                await _first_of(link.tried, self.stopping, timeout=CONNECT_FIRST)
                await self.read_commands()
                scheduler.start()
                clock_guard = asyncio.create_task(
                    guard_scheduler(scheduler, ClockWatch(), on_step_back=self.plan_sooner),
                    name="clock-guard",
                )
                watchdog = self._start_watchdog()
                systemd.notify("READY=1")
                log.info(
                    "crackdown running: %d feeds, %d spiders; SIGTERM or Ctrl-C stops, "
                    "SIGHUP reloads",
                    len(app.feeds()),
                    len(app.spiders()),
                )
                await self.stopping.wait()
                log.info("stopping")
                systemd.notify("STOPPING=1")
                if watchdog is not None:
                    watchdog.cancel()
                clock_guard.cancel()
                scheduler.shutdown(wait=False)
                await self._finish_sends()
                await self._cancel_poll()
                await self._cancel_crawl()
                await _cancel(link_task)
                await self._reader.stop()
                await asyncio.to_thread(self._commands.release)
                await link.close()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if server is not None:
                server.close()
            if link_task is not None:
                await _cancel(link_task)
        log.info("stopped")

    def _start_watchdog(self) -> asyncio.Task[None] | None:
        """Feed systemd's watchdog (WatchdogSec) while the scheduler's jobs keep finishing."""
        interval = systemd.watchdog_interval()
        if interval is None:
            return None
        return asyncio.create_task(self._feed_watchdog(interval), name="watchdog")

    async def _feed_watchdog(self, interval: float) -> None:
        """WATCHDOG=1 every `interval` unless the heartbeat /healthz reads has gone stale.

        A blocked event loop feeds nothing either: systemd restarts the daemon.
        """
        said = False
        while True:
            if not self.heartbeat.stalled(self.app.config.metrics.stale_after):
                systemd.notify("WATCHDOG=1")
                said = False
            elif not said:
                log.error("no scheduler job has finished lately: the systemd watchdog is not fed")
                said = True
            await asyncio.sleep(interval)

    def _schedule(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        config = self.app.config
        for job, seconds, first in (
            (self.poll_due, config.polling.tick, now),
            (self.crawl_due, config.crawl.tick, now),
            (self.deliver, config.delivery.interval, now),
            (self.housekeeping, config.retention.interval, now + timedelta(minutes=1)),
            (self.read_commands, config.telegram.leader_retry, now + timedelta(seconds=1)),
        ):
            # Never run a job twice at once, and fold missed runs into one.
            scheduler.add_job(
                self._job(job.__name__, job),
                "interval",
                seconds=seconds,
                id=job.__name__,
                name=job.__name__,
                next_run_time=first,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        return scheduler

    async def _finish_sends(self) -> None:
        """Let the sends in flight end within the grace period; cancel the rest."""
        assert self._worker is not None
        self._worker.stop()
        grace = self.app.config.delivery.shutdown_grace
        try:
            await asyncio.wait_for(self._drain_lock.acquire(), grace)
        except TimeoutError:
            cancelled = self._worker.abort()
            log.warning(
                "shutdown: %d sends still in flight after %.0fs were cancelled; "
                "their alerts are sent at the next start",
                cancelled,
                grace,
            )
            try:
                await asyncio.wait_for(self._drain_lock.acquire(), 5)
            except TimeoutError:
                log.error("shutdown: delivery did not stop; leased alerts wait for their lease")
                return
        self._drain_lock.release()

    async def _cancel_crawl(self) -> None:
        """A crawl cut short kills its child process; sources stored so far stay stored."""
        task = self._crawl_task
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
            await asyncio.wait_for(task, 15)

    async def _cancel_poll(self) -> None:
        """A poll cut short is simply done again at the next start: stored batches stay."""
        task = self._poll_task
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
            await asyncio.wait_for(task, 10)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    """Wait until one of `events` is set, or `timeout` seconds."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()

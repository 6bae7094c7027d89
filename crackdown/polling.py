"""Polling feeds: what is due, at most N at once and a few per host, and when next.

Each poll ends by storing the source's health and its next poll time
(`crawler.schedule`), so a restart picks the schedule up where it was and a
broken feed is retried with backoff but never given up on. For speed in a
big cycle, feeds are parsed in worker processes (`ParsePool`) and the polls
that finish together are stored in one transaction (`_Recorder`), each
story still with its matches, its alerts and its source's health.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from crackdown import exitcodes
from crackdown import health_notices as notices
from crackdown.claims import Claims
from crackdown.config import POLLED_KINDS, ConfigError, SourceConfig
from crackdown.fulltext import fill_bodies
from crackdown.pipeline import IngestReport, ingest_one_by_one, prepare, store_found
from crackdown.progress import Progress
from crawler.feeds import (
    FeedError,
    FeedParser,
    ParsedFeed,
    init_parse_worker,
    parse_content,
    poll_feed,
)
from crawler.http import HttpPolicy, make_client
from crawler.jsonapi import fetch_detail, poll_api
from crawler.matcher import StoryFilter
from crawler.netguard import fetching_for
from crawler.schedule import (
    CacheHints,
    PollPolicy,
    failure_interval,
    success_interval,
    with_jitter,
)
from crawler.types import FeedFetch, FetchState, RawStory
from storage import sources as source_store
from storage.db import Database, database_error
from storage.notices import queue_notice

if TYPE_CHECKING:
    from crackdown.app import App

log = logging.getLogger(__name__)
_NO_HINTS = CacheHints()
# A poll of fewer sources parses in-line: starting a worker process (a forkserver the first
# time, then a worker that imports the program: 0.2-0.5 s of CPU) costs more than it saves.
PARSE_POOL_MIN_SOURCES = 50
# Successful polls stored per transaction, and how long one waits for others to join it.
STORE_BATCH, STORE_DELAY = 16, 0.02
WORKER_NICENESS = 5  # parse workers run below the event loop (crawler.feeds.init_parse_worker)
# How long a claimed source is left to the daemon that claimed it before another may poll it:
# longer than a poll takes (timeouts, full-text pages, waiting for a per-host slot).
POLL_LEASE = timedelta(minutes=10)


def default_parse_workers() -> int:
    """Parse workers: one per CPU this process may use, less the one the event loop keeps.

    The loop (fetch, normalise, match, store) is itself about half the work
    of a first cycle, so on two CPUs one worker does as well as two (bench
    figures in bench/README.md) and costs one process less.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(cpus - 1, 0)


class ParsePool:
    """Feed parsing in worker processes during a big poll, so that every CPU works.

    Why: feedparser is pure Python and was most of a first cycle's CPU, while
    the event loop has fetching, matching and storing to do. Workers are
    forked by a forkserver (never a fork of this threaded process) that has
    imported the parser; multiprocessing still has each worker import the
    program's main module (the CLI's is light). The pool starts at the first
    parse of a poll of many sources (an unchanged cycle parses nothing and
    starts nothing) and stops when the last such poll ends, so a daemon
    polling a few feeds per tick keeps no idle processes. If processes cannot
    be started or a worker dies, the rest of that poll parses in-line:
    slower, nothing lost.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._starting: asyncio.Future[ProcessPoolExecutor | None] | None = None
        self._alive: tuple[Connection, Connection] | None = None
        self._failed = False
        self._users = 0

    @contextlib.asynccontextmanager
    async def using(self) -> AsyncIterator[FeedParser]:
        """A parser for one poll; the workers stop when no poll uses them any more."""
        self._users += 1
        try:
            yield self.parse
        finally:
            self._users -= 1
            if not self._users:
                await self.close()

    async def parse(
        self,
        content: bytes,
        source_key: str,
        base_url: str,
        headers: Mapping[str, str] | None,
        lang: str | None,
    ) -> ParsedFeed:
        """`parse_content` in a worker; in-line if the pool is off or broken."""
        args = (content, source_key, base_url, dict(headers or {}), lang)
        executor = await self._ready()
        if executor is not None:
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    executor, parse_content, *args
                )
            except FeedError:
                raise
            except Exception as exc:  # the in-line parse below says whose fault
                if isinstance(exc, (BrokenExecutor, OSError, RuntimeError, pickle.PicklingError)):
                    self._fail(exc)  # the pool's, not the feed's
                else:
                    log.debug("source %s: parse failed in a worker: %r", source_key, exc)
        return parse_content(*args)

    async def _ready(self) -> ProcessPoolExecutor | None:
        """The pool with its workers running, or None: parse in-line.

        Starting takes a few hundred milliseconds (processes start and import
        modules). It runs in a thread, and feeds that arrive meanwhile are
        parsed in-line rather than left waiting with the loop idle.
        """
        if self._failed or self.workers < 1:
            return None
        if self._starting is None:
            self._starting = asyncio.ensure_future(asyncio.to_thread(self._start))
        if not self._starting.done():
            return None
        return None if self._failed else self._starting.result()

    def _start(self) -> ProcessPoolExecutor | None:
        executor = None
        try:
            # The forkserver runs `python -c ...`, which puts the working folder (the daemon's
            # state directory, under systemd) first on sys.path: a crawler.py there would be
            # imported instead of ours. PYTHONSAFEPATH is -P for it and every worker.
            os.environ.setdefault("PYTHONSAFEPATH", "1")
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["crawler.feeds"])
            # The workers read EOF from this pipe when this process is gone (init_parse_worker).
            self._alive = context.Pipe(duplex=False)
            executor = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=init_parse_worker,
                initargs=(WORKER_NICENESS, self._alive[0]),
            )
            for started in [executor.submit(os.getpid) for _ in range(self.workers)]:
                started.result(timeout=60)
            return executor
        except Exception as exc:  # no forkserver here, no semaphores, a worker died...
            log.warning("parsing feeds in-line for this poll: no worker processes: %r", exc)
            self._failed = True
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
            return None

    def _fail(self, exc: BaseException) -> None:
        if not self._failed:
            log.warning("parsing feeds in-line for the rest of this poll: %r", exc)
        self._failed = True

    async def close(self) -> None:
        """Stop the workers, if any were started; the next big poll tries again."""
        starting, self._starting = self._starting, None
        executor = await starting if starting is not None else None
        self._failed = False
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        alive, self._alive = self._alive, None
        for end in alive or ():
            end.close()


@dataclass
class SourcePoll:
    """How one poll went: one line of `crackdown poll`."""

    key: str
    status: str  # "HTTP 200", "304", "error"
    items: int = 0
    report: IngestReport = field(default_factory=IngestReport)
    seconds: float = 0.0
    error: str | None = None
    next_poll_at: datetime | None = None
    failures: int = 0


@dataclass
class PollReport(IngestReport):
    results: list[SourcePoll] = field(default_factory=list)

    @property
    def polled(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> list[str]:
        return [r.key for r in self.results if r.error is not None]


@dataclass
class _Success:
    """A poll that worked, waiting to be stored with its source's health record."""

    source: SourceConfig
    fetched: FeedFetch
    found: list[RawStory]
    now: datetime


class _Recorder:
    """Stores successful polls in batches: one transaction for the polls that end together.

    Why: per feed, a transaction and its dozen statements cost more than the
    rows themselves; a busy cycle stores a few polls per transaction instead.
    A poll waits at most `delay` seconds for others to join it (nothing in a
    quiet tick) and a batch holds at most `max_batch` polls, so the write
    lock is held for a few tens of milliseconds at most.

    Batches are stored in a worker thread, one at a time: storing (matching,
    clustering, the database's round trips) takes from milliseconds to a
    second or two in a first cycle, and on the event loop it held up every
    fetch in flight meanwhile. Polls ending while one batch is stored join
    the next.
    """

    def __init__(
        self,
        store: Callable[[Sequence[_Success]], list[SourcePoll | Exception]],
        *,
        max_batch: int,
        delay: float,
    ) -> None:
        self._store = store
        self.max_batch = max_batch
        self.delay = delay
        self._pending: list[tuple[_Success, asyncio.Future[SourcePoll]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._storing: set[asyncio.Task[None]] = set()  # batches being stored, by thread

    async def record(self, poll: _Success) -> SourcePoll:
        """Store `poll` with the others that arrive within `delay`; its line in `crackdown poll`."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[SourcePoll] = loop.create_future()
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
            self._reschedule(asyncio.get_running_loop(), 0.0)

    async def _store_batch(self, live: list[tuple[_Success, asyncio.Future[SourcePoll]]]) -> None:
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


class Poller:
    """Polls sources with one HTTP client under global and per-host limits."""

    def __init__(
        self,
        db: Database,
        matcher: StoryFilter,
        client: httpx.AsyncClient,
        http: HttpPolicy,
        schedule: PollPolicy,
        *,
        concurrency: int,
        per_host: int,
        full_text_per_poll: int = 20,
        notify_chats: Sequence[int] = (),
        notify_after: int = 0,
        rng: random.Random | None = None,
        parse_workers: int | None = None,
        store_batch: int | None = None,
        store_delay: float | None = None,
    ) -> None:
        self.db = db
        self.matcher = matcher
        self.client = client
        self.http = http
        self.schedule = schedule
        self._all = asyncio.Semaphore(concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host)
        )
        self.rng = rng or random.Random()
        self.full_text_per_poll = full_text_per_poll
        self.notify_chats = tuple(notify_chats)
        self.notify_after = notify_after  # 0: never
        workers = default_parse_workers() if parse_workers is None else parse_workers
        self._parse_pool = ParsePool(workers)
        self._recorder = _Recorder(
            self._record,
            max_batch=STORE_BATCH if store_batch is None else store_batch,
            delay=STORE_DELAY if store_delay is None else store_delay,
        )
        self._claims = Claims(db)

    def due(
        self, sources: Iterable[SourceConfig], now: datetime | None = None
    ) -> list[SourceConfig]:
        """The enabled feeds whose next poll has come (or that were never polled), claimed.

        Claimed for POLL_LEASE: the caller polls them now, and another daemon
        on the same database does not (`storage.sources.claim_due`).
        """
        feeds = {s.key: s for s in sources if s.enabled and s.kind in POLLED_KINDS}
        keys = self._claims.claim_due(feeds, now or datetime.now(UTC), POLL_LEASE)
        return [feeds[key] for key in keys]

    async def poll(
        self,
        sources: Iterable[SourceConfig],
        on_result: Callable[[SourcePoll], None] | None = None,
    ) -> PollReport:
        """Poll every given source; one failing never stops the others.

        None holds the poll long: its fetch ends within `http.deadline`, and
        its full-text pages, if any, within one more (`fill_bodies`).
        `on_result` is told of each source as it finishes (a CLI's progress).
        """
        report = PollReport()
        sources = list(sources)
        with self.db.session() as session:
            targets = source_store.poll_targets(session, [s.key for s in sources])
        try:
            async with contextlib.AsyncExitStack() as stack:
                parse = None
                if len(sources) >= PARSE_POOL_MIN_SOURCES:
                    parse = await stack.enter_async_context(self._parse_pool.using())
                results = await asyncio.gather(
                    *(
                        self._limited(source, targets[source.key], parse, on_result)
                        for source in sources
                    )
                )
        finally:
            # A poll recorded moved its source's next poll on; any other (cut short by a
            # shutdown, or not stored because the database was away) is due again now.
            self._claims.release(s.key for s in sources)
        for result in results:
            report.add(result.report)
            report.results.append(result)
        return report

    async def _limited(
        self,
        source: SourceConfig,
        target: tuple[str, FetchState],
        parse: FeedParser | None,
        on_result: Callable[[SourcePoll], None] | None = None,
    ) -> SourcePoll:
        host = urlsplit(source.url).hostname or ""
        async with self._hosts[host], self._all:  # host first: a busy host holds no global slot
            started = time.perf_counter()
            try:
                result = await self.poll_one(source, parse=parse, target=target)
            except DBAPIError as exc:  # the database's trouble (a full disk, a server away)
                # Not the source's failure: no streak, no backoff. Its claim is handed back
                # (`poll`), so the next tick polls it again, until the database takes it.
                reason = f"database error: {database_error(exc)}"
                log.error("source %s: the poll could not be stored: %s", source.key, reason)
                result = SourcePoll(source.key, "error", error=reason)
            except Exception as exc:  # a bug must not stop the other sources
                log.exception("source %s: unexpected error while polling", source.key)
                result = self._failed_unrecorded(source, f"internal error: {type(exc).__name__}")
            result.seconds = time.perf_counter() - started
        if on_result is not None:
            on_result(result)
        return result

    async def poll_one(
        self,
        source: SourceConfig,
        *,
        parse: FeedParser | None = None,
        target: tuple[str, FetchState] | None = None,
    ) -> SourcePoll:
        """Poll one feed, ingest what it had, record health and the next poll.

        `parse` parses the feed elsewhere (`ParsePool`); by default in-line.
        `target` is the URL and validators if the caller has read them. What
        the poll found is stored with the source's health record, in one
        transaction with the polls that finish at about the same time.
        """
        if target is None:
            with self.db.session() as session:
                target = source_store.poll_target(session, source.key)
        url, state = target
        # Its own configured host may be private; a redirect or item link elsewhere may not.
        with fetching_for(source.key, source.configured_urls):
            if source.kind == "json":
                return await self._poll_api(source, url, state)
            return await self._fetch_and_record(source, url, state, parse)

    async def _fetch_and_record(
        self, source: SourceConfig, url: str, state: FetchState, parse: FeedParser | None
    ) -> SourcePoll:
        try:
            fetched = await poll_feed(
                self.client,
                source_key=source.key,
                url=url,
                state=state,
                policy=self.http,
                lang=source.lang,
                parse=parse,
            )
        except FeedError as exc:
            return self._failed(source, str(exc), exc)
        now = datetime.now(UTC)
        if fetched.warning:
            log.warning(
                "source %s: feed is malformed, kept %d items: %s",
                source.key,
                len(fetched.stories),
                fetched.warning,
            )
        found = list(fetched.stories)
        if source.full_text and found:
            found = await fill_bodies(
                self.db, self.client, self.http, found, self.full_text_per_poll
            )
        return await self._recorder.record(_Success(source, fetched, found, now))

    async def _poll_api(self, source: SourceConfig, url: str, state: FetchState) -> SourcePoll:
        """A JSON-API source: one request, items by config, bodies by detail request if set."""
        assert source.api is not None  # validated: kind = "json" has an api table
        spec = source.api.spec()
        try:
            fetched, items = await poll_api(
                self.client,
                source_key=source.key,
                url=url,
                state=state,
                policy=self.http,
                spec=spec,
                lang=source.lang,
            )
        except FeedError as exc:
            return self._failed(source, str(exc), exc)
        if fetched.warning:
            log.warning("source %s: %s", source.key, fetched.warning)
        found = list(fetched.stories)
        if items.details and found:

            async def detail(story: RawStory) -> str:
                return await fetch_detail(self.client, items.details[story.url], spec, self.http)

            with_detail = [s for s in found if s.url in items.details]
            filled = await fill_bodies(
                self.db,
                self.client,
                self.http,
                with_detail,
                self.full_text_per_poll,
                fetch_body=detail,
            )
            bodies = {s.url: s for s in filled}
            found = [bodies.get(s.url, s) for s in found]
        return await self._recorder.record(_Success(source, fetched, found, datetime.now(UTC)))

    def _record(self, polls: Sequence[_Success]) -> list[SourcePoll | Exception]:
        """Store several successful polls in one transaction: stories, alerts, health.

        If that fails, each poll is stored on its own, so that one source's
        trouble (a bad row, a bug) is that source's alone.
        """
        if len(polls) > 1:
            try:
                return list(self._record_together(polls))
            except Exception as exc:
                log.debug("storing %d polls together failed (%r); one at a time", len(polls), exc)
        return [self._record_alone(poll) for poll in polls]

    def _record_together(self, polls: Sequence[_Success]) -> list[SourcePoll]:
        batches = [prepare(poll.found, poll.now) for poll in polls]
        with self.db.session() as session:
            stored = iter(store_found(session, self.matcher, [b for b in batches if b]))
            reports = [next(stored) if b else IngestReport() for b in batches]
            outcomes = self._record_health(session, polls, reports)
        return [
            self._polled(poll, report, *outcome)
            for poll, report, outcome in zip(polls, reports, outcomes, strict=True)
        ]

    def _record_alone(self, poll: _Success) -> SourcePoll | Exception:
        """One poll in its transaction; the error, if any, goes to that poll's source."""
        try:
            return self._record_together([poll])[0]
        except IntegrityError:  # another writer stored some of these stories meanwhile
            pass
        except Exception as exc:
            return exc
        try:  # one story at a time, skipping those, then the health record
            report = ingest_one_by_one(self.db, self.matcher, prepare(poll.found, poll.now))
            with self.db.session() as session:
                (outcome,) = self._record_health(session, [poll], [report])
            return self._polled(poll, report, *outcome)
        except Exception as exc:
            return exc

    def _record_health(
        self, session: Session, polls: Sequence[_Success], reports: Sequence[IngestReport]
    ) -> list[tuple[datetime, float, int, bool]]:
        """Each source's success, schedule and moves; (next poll, interval, streak ended, moved)."""
        moved = [
            poll.fetched.moved_to is not None
            and source_store.record_moved(session, poll.source.key, poll.fetched.moved_to)
            for poll in polls
        ]
        # One count for all: the 7-day window from the earliest poll of the batch.
        weekly = source_store.entries_last_week_by_source(
            session, [poll.source.key for poll in polls], min(poll.now for poll in polls)
        )
        schedules = []
        for poll in polls:
            hints = poll.fetched.hints
            interval = success_interval(
                poll.source.interval, weekly[poll.source.key], hints, self.schedule
            )
            schedules.append((with_jitter(poll.now, interval, self.schedule, self.rng), interval))
        successes = [
            source_store.Success(
                poll.source.key, poll.fetched.state, report.stories, poll.now, next_poll
            )
            for poll, report, (next_poll, _) in zip(polls, reports, schedules, strict=True)
        ]
        ended = source_store.record_successes(session, successes)
        for poll, streak in zip(polls, ended, strict=True):
            if self.notify_after and streak >= self.notify_after:
                queue_notice(
                    session,
                    "source-recovered",
                    notices.recovered(poll.source.key, streak),
                    self.notify_chats,
                )
        return [
            (next_poll, interval, streak, was_moved)
            for (next_poll, interval), streak, was_moved in zip(
                schedules, ended, moved, strict=True
            )
        ]

    def _polled(
        self,
        poll: _Success,
        report: IngestReport,
        next_poll: datetime,
        interval: float,
        ended: int,
        moved: bool,
    ) -> SourcePoll:
        """The log lines and `crackdown poll` line of a stored poll."""
        source, fetched = poll.source, poll.fetched
        if moved:
            log.warning(
                "source %s: moved permanently to %s; polling it there (update the config)",
                source.key,
                fetched.moved_to,
            )
        if ended:
            log.warning("source %s: recovered after %d failures", source.key, ended)
        if not fetched.not_modified:
            status = f"HTTP {fetched.status}"
        else:  # a 304, or the same bytes as last time from a server without validators
            status = "304" if fetched.status == 304 else "unchanged"
        log.info(
            "source %s: %s, %d items, %d new, %d matched, next in %.0fs",
            source.key,
            status,
            len(fetched.stories),
            report.stories,
            report.matched,
            interval,
        )
        return SourcePoll(source.key, status, len(fetched.stories), report, next_poll_at=next_poll)

    def _failed_unrecorded(self, source: SourceConfig, error: str) -> SourcePoll:
        """A failure, recorded if the database takes it (if not, it is polled again next tick)."""
        try:
            return self._failed(source, error, None)
        except DBAPIError as exc:
            reason = database_error(exc)
            log.error("source %s: its failure could not be recorded: %s", source.key, reason)
            return SourcePoll(source.key, "error", error=error)

    def _failed(self, source: SourceConfig, error: str, exc: FeedError | None) -> SourcePoll:
        now = datetime.now(UTC)
        with self.db.session() as session:
            streak = source_store.failures(session, source.key) + 1
            hints = exc.hints if exc is not None else None
            delay = failure_interval(source.interval, streak, hints or _NO_HINTS, self.schedule)
            next_poll = with_jitter(now, delay, self.schedule, self.rng)
            source_store.record_failure(session, source.key, error, now, next_poll)
            if streak == self.notify_after:  # once per outage
                text = notices.failing(source.key, source.url, streak, error, delay)
                queue_notice(session, "source-failing", text, self.notify_chats)
        log.warning(
            "source %s: poll failed (%d in a row, retry in %.0fs): %s",
            source.key,
            streak,
            delay,
            error,
        )
        return SourcePoll(source.key, "error", error=error, next_poll_at=next_poll, failures=streak)


def poll_line(result: SourcePoll) -> str:
    """`key  status  items  new  matched  time  next`, or the error."""
    when = result.next_poll_at.strftime("%H:%M:%S") if result.next_poll_at else "-"
    head = f"{result.key:<20} {result.status:<9}"
    if result.error is not None:
        return f"{head} failed {result.failures}x: {result.error} (retry at {when} UTC)"
    r = result.report
    return (
        f"{head} {result.items:>4} items {r.stories:>4} new {r.matched:>3} matched "
        f"{result.seconds * 1000:>6.0f} ms  next {when} UTC"
    )


async def poll_command(app: App, *, keys: list[str] | None, everything: bool, out: TextIO) -> int:
    """`crackdown poll`: due sources (or the named ones, or all), one line each."""
    feeds = app.feeds()
    if keys:
        known = {s.key: s for s in feeds}
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise ConfigError(f"no enabled feed source {unknown[0]!r} (see crackdown sources)")
        chosen = [known[k] for k in keys]
    async with make_client(app.policy, keepalive=app.config.http.concurrency) as client:
        poller = app.poller(client)
        if not keys:
            chosen = app.without_paused(feeds, out) if everything else poller.due(feeds)
        if not chosen:
            out.write("nothing is due (--all polls every source now)\n")
            return exitcodes.OK
        progress = Progress(out, len(chosen), "feeds")
        report = await poller.poll(
            chosen,
            lambda result: progress.step(poll_line(result), result.report.stories, result.error),
        )
        progress.close()
    if progress.tty:  # the counter is gone: the lines, in config order
        for result in report.results:
            out.write(poll_line(result) + "\n")
    out.write(
        f"{report.polled} polled, {len(report.failed)} failed: {report.stories} new stories, "
        f"{report.matched} matched, {report.queued} alerts queued\n"
    )
    return exitcodes.of_sources(report.polled, len(report.failed))

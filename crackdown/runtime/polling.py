"""Polling feeds: what is due, at most N at once and a few per host, and when next.

Each poll ends by storing the source's health and its next poll time
(`crawler.schedule`), so a restart picks the schedule up where it was and a
broken feed is retried with backoff but never given up on. For speed in a
big cycle, feeds are parsed in worker processes (`runtime.parse_pool`) and
the polls that finish together are stored in one transaction
(`runtime.recorder`), each story still with its matches, its alerts and its
source's health.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from crackdown.config import POLLED_KINDS, SourceConfig
from crackdown.runtime import health_notices as notices
from crackdown.runtime.claims import REFUSED, Claims
from crackdown.runtime.filters import FilterBook, FilterSpec
from crackdown.runtime.fulltext import fill_bodies
from crackdown.runtime.parse_pool import ParsePool, PreparingParser, default_parse_workers
from crackdown.runtime.pipeline import (
    IngestReport,
    ingest_one_by_one,
    log_dropped,
    prepare,
    store_found,
)
from crackdown.runtime.poll_results import PollReport, PollSuccess, SourcePoll
from crackdown.runtime.recorder import BatchRecorder
from crawler.feeds import FeedError, FeedParser, poll_feed
from crawler.http import HttpPolicy
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
from crawler.types import FetchState, MatchResult, RawStory, Story
from storage import sources as source_store
from storage.db import Database, database_error
from storage.notices import queue_notice

__all__ = ["ParsePool", "PollReport", "Poller", "SourcePoll", "default_parse_workers"]

log = logging.getLogger(__name__)
_NO_HINTS = CacheHints()
# A poll of fewer sources parses in-line: starting a worker process (a forkserver the first
# time, then a worker that imports the program: 0.2-0.5 s of CPU) costs more than it saves.
PARSE_POOL_MIN_SOURCES = 50
# Successful polls stored per transaction, and how long one waits for others to join it:
# a transaction of 16-64 first-cycle polls costs 10 ms of CPU a feed to store, one of 4 polls
# 14 ms and one of 1 poll 23 ms (bench/README.md, session 9); an alert waits 0.25 s at most.
# 16: 32 cost the same CPU but held the first cycle's peak RSS at 246-249 MB, against the
# 250 MB target (233 MB with 16, session 10); 64 took it past 250 MB.
STORE_BATCH, STORE_DELAY = 16, 0.25
# How long a claimed source is left to the daemon that claimed it before another may poll it:
# longer than a poll takes (timeouts, full-text pages, waiting for a per-host slot).
POLL_LEASE = timedelta(minutes=10)


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
        self._recorder = BatchRecorder(
            self._record,
            max_batch=STORE_BATCH if store_batch is None else store_batch,
            delay=STORE_DELAY if store_delay is None else store_delay,
        )
        # polls waiting to be stored with their fetch slots handed back: a batch being
        # stored and the next one filling
        self._waiting = asyncio.Semaphore(2 * self._recorder.max_batch)
        # Each feed's items (`feed_work.item_key`) at its last poll stored through a worker:
        # the worker leaves them out next time. In memory only: after a restart every item
        # is prepared and storing dedups it against the database.
        self._last_items: dict[str, bytes] = {}
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
            clustering = session.info.get("clustering")
        quiet = None  # what makes no story worth clustering: a worker signs the rest
        if clustering is not None and clustering.enabled:
            quiet = clustering.places | clustering.background
        results: list[SourcePoll] = []
        try:
            async with contextlib.AsyncExitStack() as stack:
                pool = None
                if len(sources) >= PARSE_POOL_MIN_SOURCES:
                    using = self._parse_pool.using(self._filter_spec(), quiet)
                    await stack.enter_async_context(using)
                    pool = self._parse_pool
                results = list(
                    await asyncio.gather(
                        *(
                            self._limited(source, targets[source.key], pool, on_result)
                            for source in sources
                        )
                    )
                )
        finally:
            # A poll recorded moved its source's next poll on; any other (cut short by a
            # shutdown, or not stored because the database was away) is due again now, or
            # later when the database has refused polls in a row (`Claims.release_run`).
            refused = [r.key for r in results if r.refused]
            self._claims.release_run((s.key for s in sources), len(results), refused)
        for result in results:
            report.add(result.report)
            report.results.append(result)
        return report

    async def _limited(
        self,
        source: SourceConfig,
        target: tuple[str, FetchState],
        pool: ParsePool | None,
        on_result: Callable[[SourcePoll], None] | None = None,
    ) -> SourcePoll:
        host = urlsplit(source.url).hostname or ""
        async with contextlib.AsyncExitStack() as slots:
            # host first: a busy host holds no global slot; both are handed back before storing
            await slots.enter_async_context(self._hosts[host])
            await slots.enter_async_context(self._all)
            started = time.perf_counter()
            try:
                result = await self.poll_one(source, pool=pool, target=target, slots=slots)
            except DBAPIError as exc:  # the database's trouble (a full disk, a server away)
                # Not the source's failure: no streak, no backoff. Its claim is handed back
                # (`poll`), so the next tick polls it again, until the database takes it.
                reason = f"{REFUSED}{database_error(exc)}"
                log.error("source %s: the poll could not be stored: %s", source.key, reason)
                result = SourcePoll(source.key, "error", error=reason, refused=True)
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
        pool: ParsePool | None = None,
        target: tuple[str, FetchState] | None = None,
        slots: contextlib.AsyncExitStack | None = None,
    ) -> SourcePoll:
        """Poll one feed, ingest what it had, record health and the next poll.

        `pool` parses the feed, normalises and matches its stories in a
        worker process (`ParsePool`); by default all is done in-line.
        `target` is the URL and validators if the caller has read them. What
        the poll found is stored with the source's health record, in one
        transaction with the polls that finish at about the same time.
        `slots` (the fetch limits held for this poll) are closed once the
        fetching is done and the poll has room to wait for storing.
        """
        if target is None:
            with self.db.session() as session:
                target = source_store.poll_target(session, source.key)
        url, state = target
        # Its own configured host may be private; a redirect or item link elsewhere may not.
        with fetching_for(source.key, source.configured_urls):
            if source.kind == "json":
                return await self._poll_api(source, url, state, slots)
            return await self._fetch_and_record(source, url, state, pool, slots)

    async def _fetch_and_record(
        self,
        source: SourceConfig,
        url: str,
        state: FetchState,
        pool: ParsePool | None,
        slots: contextlib.AsyncExitStack | None,
    ) -> SourcePoll:
        parse: FeedParser | None = None
        if pool is not None:  # full text changes stories after parsing: prepared when stored
            parse = (
                pool.parse
                if source.full_text
                else PreparingParser(pool, self._last_items.get(source.key, b""))
            )
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
        prepared = parse.prepared if isinstance(parse, PreparingParser) else None
        poll = PollSuccess(source, fetched, list(fetched.stories), now, prepared)
        if fetched.warning:
            log.warning(
                "source %s: kept %d items, with a warning: %s",
                source.key,
                poll.items,
                fetched.warning,
            )
        if source.full_text and poll.found:
            poll.found = await fill_bodies(
                self.db, self.client, self.http, poll.found, self.full_text_per_poll
            )
        return await self._record_freeing(poll, slots)

    async def _poll_api(
        self,
        source: SourceConfig,
        url: str,
        state: FetchState,
        slots: contextlib.AsyncExitStack | None = None,
    ) -> SourcePoll:
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
        return await self._record_freeing(
            PollSuccess(source, fetched, found, datetime.now(UTC)), slots
        )

    async def _record_freeing(
        self, poll: PollSuccess, slots: contextlib.AsyncExitStack | None
    ) -> SourcePoll:
        """Record `poll`, its fetch slots handed back while it waits to be stored.

        Why: a poll waiting for its transaction held a connection slot, so
        fetching stopped while a batch filled or was stored. At most
        `_waiting`'s bound of polls wait (their stories in memory); beyond it a
        poll keeps its slots, which holds fetching back when storing is behind.
        """
        async with self._waiting:
            if slots is not None:
                await slots.aclose()
            return await self._recorder.record(poll)

    def _record(self, polls: Sequence[PollSuccess]) -> list[SourcePoll | Exception]:
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

    def _record_together(self, polls: Sequence[PollSuccess]) -> list[SourcePoll]:
        spec = self._filter_spec()
        prepared = [(self._prepared(poll, spec), poll.prepared) for poll in polls]
        found = [(batch, verdicts, ready) for (batch, verdicts), ready in prepared if batch]
        with self.db.session() as session:
            stored = iter(
                store_found(
                    session,
                    self.matcher,
                    [batch for batch, _, _ in found],
                    matches=[verdicts for _, verdicts, _ in found],
                    search_docs=[ready.search_docs if ready else None for _, _, ready in found],
                    signatures=[ready.signatures if ready else None for _, _, ready in found],
                )
            )
            reports = [next(stored) if batch else IngestReport() for (batch, _), _ in prepared]
            outcomes = self._record_health(session, polls, reports)
        return [
            self._polled(poll, report, *outcome)
            for poll, report, outcome in zip(polls, reports, outcomes, strict=True)
        ]

    def _record_alone(self, poll: PollSuccess) -> SourcePoll | Exception:
        """One poll in its transaction; the error, if any, goes to that poll's source."""
        try:
            return self._record_together([poll])[0]
        except IntegrityError:  # another writer stored some of these stories meanwhile
            pass
        except Exception as exc:
            return exc
        try:  # one story at a time, skipping those, then the health record
            batch, _ = self._prepared(poll, None)
            report = ingest_one_by_one(self.db, self.matcher, batch)
            with self.db.session() as session:
                (outcome,) = self._record_health(session, [poll], [report])
            return self._polled(poll, report, *outcome)
        except Exception as exc:
            return exc

    def _filter_spec(self) -> FilterSpec | None:
        """What a parse worker needs to match as `self.matcher` does now; None: it cannot."""
        return self.matcher.spec if isinstance(self.matcher, FilterBook) else None

    @staticmethod
    def _prepared(
        poll: PollSuccess, spec: FilterSpec | None
    ) -> tuple[dict[str, Story], Mapping[str, MatchResult] | None]:
        """A poll's stories normalised, and their verdicts if a worker's are current.

        A worker's verdicts count only if they were made by the filter as it
        is now (`spec`): a /watch added or a watchlist reloaded since the
        workers started means matching again here.
        """
        ready = poll.prepared
        if ready is None:
            return prepare(poll.found, poll.now), None
        log_dropped(ready.dropped)
        current = spec is not None and ready.spec is spec
        return ready.batch, ready.matches if current else None

    def _record_health(
        self, session: Session, polls: Sequence[PollSuccess], reports: Sequence[IngestReport]
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
        poll: PollSuccess,
        report: IngestReport,
        next_poll: datetime,
        interval: float,
        ended: int,
        moved: bool,
    ) -> SourcePoll:
        """The log lines and `crackdown poll` line of a stored poll; its items remembered."""
        source, fetched = poll.source, poll.fetched
        if poll.prepared is not None:  # stored: the next poll's worker may leave these out
            self._last_items[source.key] = poll.prepared.keys
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
            poll.items,
            report.stories,
            report.matched,
            interval,
        )
        return SourcePoll(source.key, status, poll.items, report, next_poll_at=next_poll)

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

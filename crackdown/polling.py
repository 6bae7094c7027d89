"""Polling feeds: what is due, at most N at once and a few per host, and when next.

Each poll ends by storing the source's health and its next poll time
(`crawler.schedule`), so a restart picks the schedule up where it was and a
broken feed is retried with backoff but never given up on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

import httpx

from crackdown import health_notices as notices
from crackdown.config import ConfigError, SourceConfig
from crackdown.fulltext import fill_bodies
from crackdown.pipeline import IngestReport, ingest
from crawler.feeds import FeedError, poll_feed
from crawler.http import HttpPolicy, make_client
from crawler.matcher import Matcher
from crawler.schedule import (
    CacheHints,
    PollPolicy,
    failure_interval,
    success_interval,
    with_jitter,
)
from storage import sources as source_store
from storage.db import Database
from storage.notices import queue_notice

if TYPE_CHECKING:
    from crackdown.app import App

log = logging.getLogger(__name__)
_NO_HINTS = CacheHints()


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


class Poller:
    """Polls sources with one HTTP client under global and per-host limits."""

    def __init__(
        self,
        db: Database,
        matcher: Matcher,
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

    def due(
        self, sources: Iterable[SourceConfig], now: datetime | None = None
    ) -> list[SourceConfig]:
        """The enabled feeds whose next poll has come (or that were never polled)."""
        feeds = {s.key: s for s in sources if s.enabled and s.kind == "feed"}
        with self.db.session() as session:
            keys = source_store.due_keys(session, feeds, now or datetime.now(UTC))
        return [feeds[key] for key in keys]

    async def poll(self, sources: Iterable[SourceConfig]) -> PollReport:
        """Poll every given source; one failing never stops the others."""
        report = PollReport()
        results = await asyncio.gather(*(self._limited(source) for source in sources))
        for result in results:
            report.add(result.report)
            report.results.append(result)
        return report

    async def _limited(self, source: SourceConfig) -> SourcePoll:
        host = urlsplit(source.url).hostname or ""
        async with self._hosts[host], self._all:  # host first: a busy host holds no global slot
            started = time.perf_counter()
            try:
                result = await self.poll_one(source)
            except Exception as exc:  # a bug must not stop the other sources
                log.exception("source %s: unexpected error while polling", source.key)
                result = self._failed(source, f"internal error: {type(exc).__name__}", None)
            result.seconds = time.perf_counter() - started
            return result

    async def poll_one(self, source: SourceConfig) -> SourcePoll:
        """Poll one feed, ingest what it had, record health and the next poll."""
        with self.db.session() as session:
            url, state = source_store.poll_target(session, source.key)
        try:
            fetched = await poll_feed(
                self.client,
                source_key=source.key,
                url=url,
                state=state,
                policy=self.http,
                lang=source.lang,
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
        report = ingest(self.db, self.matcher, found, now) if found else IngestReport()
        if fetched.moved_to:
            with self.db.session() as session:
                moved = source_store.record_moved(session, source.key, fetched.moved_to)
            if moved:
                log.warning(
                    "source %s: moved permanently to %s; polling it there (update the config)",
                    source.key,
                    fetched.moved_to,
                )
        with self.db.session() as session:
            weekly = source_store.entries_last_week(session, source.key, now)
            interval = success_interval(source.interval, weekly, fetched.hints, self.schedule)
            next_poll = with_jitter(now, interval, self.schedule, self.rng)
            ended = source_store.record_success(
                session, source.key, fetched.state, report.stories, now, next_poll
            )
            if self.notify_after and ended >= self.notify_after:
                queue_notice(
                    session,
                    "source-recovered",
                    notices.recovered(source.key, ended),
                    self.notify_chats,
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
            chosen = feeds if everything else poller.due(feeds)
        if not chosen:
            out.write("nothing is due (--all polls every source now)\n")
            return 0
        report = await poller.poll(chosen)
    for result in report.results:
        out.write(poll_line(result) + "\n")
    out.write(
        f"{report.polled} polled, {len(report.failed)} failed: {report.stories} new stories, "
        f"{report.matched} matched, {report.queued} alerts queued\n"
    )
    return 0

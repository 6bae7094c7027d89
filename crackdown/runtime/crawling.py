"""Crawling spider sources: a child process per batch, stories through the feed pipeline.

    due spider sources -> batches -> crawler.spiders.launch.run_batch (child process)
        events: page / error -> progress lines and the log
                item         -> kept until its source is done
                done         -> normalise, dedup, match, store, fan out (crackdown.runtime.pipeline)
                                + the source's health and next crawl, in one transaction

Each source's health and schedule are the feed poller's: the same `sources`
row, success and failure records, backoff and operator notices, so
`crackdown status`, `crackdown sources` and `/sources` show spiders too. A
source fails when its spider crashed, was killed at the batch timeout, or
read no list page (the start page's error is the reason); article pages
that fail are counted and logged, and the crawl still succeeds. Stories
that arrived before a failure are stored all the same.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from crackdown.config import Config, CrawlConfig, SourceConfig
from crackdown.runtime import health_notices as notices
from crackdown.runtime.claims import REFUSED, Claims
from crackdown.runtime.pipeline import IngestReport, ingest, ingest_one_by_one, prepare, store_found
from crawler.matcher import StoryFilter
from crawler.schedule import CacheHints, PollPolicy, failure_interval, success_interval, with_jitter
from crawler.spiders.events import CrawledStory, Done, Error, Event, Item, Page
from crawler.spiders.job import CrawlJob, CrawlSettings, SourceJob, SpiderSpec
from crawler.spiders.launch import run_batch
from crawler.types import FetchState, RawStory
from storage import crawls as crawl_store
from storage import sources as source_store
from storage.db import Database, database_error
from storage.notices import queue_notice

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass
class SourceCrawl:
    """How one source's crawl went: its last line in `crackdown crawl`."""

    key: str
    list_pages: int = 0
    pages: int = 0
    items: int = 0
    errors: int = 0
    blocked: int = 0
    report: IngestReport = field(default_factory=IngestReport)
    seconds: float = 0.0
    error: str | None = None
    next_poll_at: datetime | None = None
    failures: int = 0
    refused: bool = False  # the database refused to store it (a full disk, locked)


@dataclass
class CrawlReport(IngestReport):
    results: list[SourceCrawl] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [r.key for r in self.results if r.error is not None]


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """Where `--cache` keeps responses: `$XDG_CACHE_HOME/crackdown/httpcache`."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crackdown" / "httpcache"


def spider_spec(source: SourceConfig, crawl: CrawlConfig) -> SpiderSpec:
    """A spider source's config as the child process reads it; limits default from `[crawl]`."""
    starts = source.start_urls()
    domains = source.allowed_domains or [(urlsplit(u).hostname or "").lower() for u in starts]
    return SpiderSpec(
        key=source.key,
        start_urls=tuple(starts),
        spider=source.spider,
        links=source.links,
        title=source.title,
        date=source.date,
        next_page=source.next_page,
        max_pages=source.max_pages or crawl.max_pages,
        max_articles=source.max_articles or crawl.max_articles,
        allowed_domains=tuple(dict.fromkeys(d for d in domains if d)),
        lang=source.lang,
        robots=source.robots,
        article_title=source.article_title,
        article_body=source.article_body,
        article_date=source.article_date,
        render=source.render,
    )


def crawl_settings(config: Config, cache_dir: Path | None = None) -> CrawlSettings:
    """`[crawl]` and the shared `[http]` policy (user agent, size cap, redirects)."""
    crawl = config.crawl
    return CrawlSettings(
        user_agent=config.http.user_agent,
        delay=crawl.delay,
        max_delay=crawl.max_delay,
        per_domain=crawl.per_domain,
        timeout=crawl.timeout,
        source_deadline=crawl.source_deadline,
        retries=crawl.retries,
        max_bytes=config.http.max_bytes,
        max_redirects=config.http.max_redirects,
        allow_private_networks=config.http.allow_private_networks,
        proxy=config.http.proxy,
        cache_dir=str(cache_dir.expanduser().resolve()) if cache_dir else None,
        log_level="INFO" if log.isEnabledFor(logging.DEBUG) else "WARNING",
        browser=str(crawl.browser),
    )


@dataclass
class _Running:
    """One source while its batch runs: counts so far and the stories it sent."""

    source: SourceConfig
    stories: list[CrawledStory] = field(default_factory=list)
    errors: int = 0
    blocked: int = 0
    started: float | None = None  # its first event (same-host sources crawl one by one)


class SpiderRunner:
    """Crawls spider sources in child processes and stores what they find."""

    def __init__(
        self,
        db: Database,
        matcher: StoryFilter,
        settings: CrawlSettings,
        schedule: PollPolicy,
        crawl: CrawlConfig,
        *,
        notify_chats: Sequence[int] = (),
        notify_after: int = 0,
        progress: Progress | None = None,
        counter: Callable[[int, int], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.matcher = matcher
        self.settings = settings
        self.schedule = schedule
        self.crawl_config = crawl
        self.notify_chats = tuple(notify_chats)
        self.notify_after = notify_after
        self.progress = progress
        # Told (sources finished, pages fetched) as a crawl goes: the CLI's terminal counter.
        self.counter = counter
        self.finished = self.pages = 0
        self.rng = rng or random.Random()
        self._claims = Claims(db)

    def due(
        self, sources: Iterable[SourceConfig], now: datetime | None = None
    ) -> list[SourceConfig]:
        """The enabled spider sources whose next crawl has come (or that never crawled), claimed.

        Claimed for as long as crawling them all may take (`lease`), so a
        second daemon on the same database leaves them alone
        (`storage.sources.claim_due`, as feeds are claimed).
        """
        spiders = {s.key: s for s in sources if s.enabled and s.kind == "spider"}
        now = now or datetime.now(UTC)
        keys = self._claims.claim_due(spiders, now, self.lease(len(spiders)))
        return [spiders[key] for key in keys]

    def lease(self, sources: int) -> timedelta:
        """Longest a crawl of `sources` can take: its batches run one by one, each timed out."""
        batches = max(1, math.ceil(sources / self.crawl_config.batch_size))
        return timedelta(seconds=batches * self.crawl_config.batch_timeout + 60)

    async def crawl(self, sources: Iterable[SourceConfig]) -> CrawlReport:
        """Crawl the given spider sources, `batch_size` per child process, one batch at a time."""
        report = CrawlReport()
        spiders = [s for s in sources if s.kind == "spider"]
        size = self.crawl_config.batch_size
        try:
            for start in range(0, len(spiders), size):
                for result in await self._batch(spiders[start : start + size]):
                    report.add(result.report)
                    report.results.append(result)
        finally:
            # A crawl recorded moved its source's next crawl on; any other (cut short by a
            # shutdown, or not recorded because the database was away) is due again now, or
            # later when the database has refused crawls in a row (`Claims.release_run`).
            refused = [r.key for r in report.results if r.refused]
            self._claims.release_run((s.key for s in spiders), len(report.results), refused)
        return report

    async def _batch(self, batch: Sequence[SourceConfig]) -> list[SourceCrawl]:
        with self.db.session() as session:
            jobs = []
            for source in batch:
                spec = spider_spec(source, self.crawl_config)
                seen = crawl_store.stored_urls(session, spec.allowed_domains)
                jobs.append(SourceJob(spec, frozenset(seen)))
        running = {source.key: _Running(source) for source in batch}
        results: dict[str, SourceCrawl] = {}

        def on_event(event: Event) -> None:
            run = running.get(event.source)
            if run is not None and event.source not in results:
                done = self._on_event(run, event)
                if done is not None:
                    results[event.source] = done

        outcome = await run_batch(
            CrawlJob(self.settings, tuple(jobs)),
            timeout=self.crawl_config.batch_timeout,
            on_event=on_event,
        )
        for key, run in running.items():
            if key not in results:
                error = outcome.error or "the spider stopped without reporting"
                results[key] = self._finish(run, None, error)
        return [results[source.key] for source in batch]

    def _on_event(self, run: _Running, event: Event) -> SourceCrawl | None:
        key = run.source.key
        if run.started is None:
            run.started = time.perf_counter()
        if isinstance(event, Item):
            run.stories.append(event.story)
        elif isinstance(event, Page):
            self.pages += 1
            self._count()
            found = f"  ({event.links} links, {event.new} new)" if event.kind == "list" else ""
            self._say(f"{key:<20} {event.kind:<8} HTTP {event.status}  {event.url}{found}")
        elif isinstance(event, Error):
            run.blocked += event.blocked
            run.errors += not event.blocked
            label = "blocked" if event.blocked else "error"
            log.info("source %s: %s page %s: %s", key, event.kind, event.url, event.error)
            self._say(f"{key:<20} {label:<8} {event.url}: {event.error}", quiet=True)
        elif isinstance(event, Done):
            if event.reason == "closespider_timeout":
                log.warning(
                    "source %s: crawl stopped at its deadline (crawl.source_deadline, %gs); "
                    "what it found is kept",
                    key,
                    self.settings.source_deadline,
                )
            return self._finish(run, event, None)
        return None

    def _say(self, line: str, *, quiet: bool = False) -> None:
        if self.progress is not None:
            self.progress(line)
        elif not quiet:
            log.debug("%s", line)

    def _finish(self, run: _Running, done: Done | None, error: str | None) -> SourceCrawl:
        """Store what the source's spider found, and record its health and next crawl."""
        source = run.source
        error = error or (_failure(done) if done is not None else None)
        now = datetime.now(UTC)
        raws = [story.raw(source.key) for story in run.stories]
        result = SourceCrawl(
            source.key,
            list_pages=done.list_pages if done else 0,
            pages=done.pages if done else 0,
            items=len(raws),
            errors=done.errors if done else run.errors,
            blocked=done.blocked if done else run.blocked,
            error=error,
        )
        try:
            if error is None:
                result.report, result.next_poll_at = self._store(source, raws, now)
            else:
                if raws:  # what arrived before the failure is as good as any
                    result.report = ingest(self.db, self.matcher, raws, now)
                result.next_poll_at, result.failures = self._record_failure(source, error, now)
        except DBAPIError as exc:  # a full disk, a server away: crawled again when due again
            reason = f"{REFUSED}{database_error(exc)}"
            log.error("source %s: the crawl could not be stored: %s", source.key, reason)
            result.error, result.refused = result.error or reason, True
        except Exception as exc:  # a bug: this source's, not the batch's
            log.exception("source %s: storing the crawl failed", source.key)
            result.error = result.error or f"internal error: {type(exc).__name__}"
        result.seconds = time.perf_counter() - (run.started or time.perf_counter())
        self.finished += 1
        self._log(result)
        self._count()
        return result

    def _count(self) -> None:
        if self.counter is not None:
            self.counter(self.finished, self.pages)

    def _store(
        self, source: SourceConfig, raws: list[RawStory], now: datetime
    ) -> tuple[IngestReport, datetime]:
        batch = prepare(raws, now)
        try:
            with self.db.session() as session:
                report = store_found(session, self.matcher, [batch])[0] if batch else IngestReport()
                return report, self._record_success(session, source, report, now)
        except IntegrityError:  # another writer stored some meanwhile: one at a time
            report = ingest_one_by_one(self.db, self.matcher, batch)
            with self.db.session() as session:
                return report, self._record_success(session, source, report, now)

    def _record_success(
        self, session: Session, source: SourceConfig, report: IngestReport, now: datetime
    ) -> datetime:
        weekly = source_store.entries_last_week(session, source.key, now)
        interval = success_interval(source.interval, weekly, CacheHints(), self.schedule)
        next_poll = with_jitter(now, interval, self.schedule, self.rng)
        ended = source_store.record_success(
            session, source.key, FetchState(), report.stories, now, next_poll
        )
        if ended:
            log.warning("source %s: recovered after %d failures", source.key, ended)
        if self.notify_after and ended >= self.notify_after:
            text = notices.recovered(source.key, ended)
            queue_notice(session, "source-recovered", text, self.notify_chats)
        return next_poll

    def _record_failure(
        self, source: SourceConfig, error: str, now: datetime
    ) -> tuple[datetime, int]:
        with self.db.session() as session:
            streak = source_store.failures(session, source.key) + 1
            delay = failure_interval(source.interval, streak, CacheHints(), self.schedule)
            next_poll = with_jitter(now, delay, self.schedule, self.rng)
            source_store.record_failure(session, source.key, error, now, next_poll)
            if streak == self.notify_after:  # once per outage
                text = notices.failing(source.key, source.url, streak, error, delay)
                queue_notice(session, "source-failing", text, self.notify_chats)
        return next_poll, streak

    def _log(self, result: SourceCrawl) -> None:
        if result.error is not None:
            log.warning(
                "source %s: crawl failed (%d in a row): %s",
                result.key,
                result.failures,
                result.error,
            )
        else:
            log.info(
                "source %s: crawled %d list pages, %d articles, %d errors: %d new, %d matched",
                result.key,
                result.list_pages,
                result.pages,
                result.errors,
                result.report.stories,
                result.report.matched,
            )
        self._say(crawl_line(result))


def _failure(done: Done) -> str | None:
    """Why a finished spider counts as a failed crawl, or None if it does not."""
    if done.reason.startswith("crashed"):
        return f"spider {done.reason}"
    if done.reason.startswith("unavailable: "):  # e.g. render = browser without the extra
        return done.reason.removeprefix("unavailable: ")
    if done.reason != "finished" and not done.reason.startswith("closespider"):
        return f"spider stopped: {done.reason}"
    if done.list_pages == 0:
        return done.first_error or "no list page could be read"
    return None


def crawl_line(result: SourceCrawl) -> str:
    """A source's last line: what was read and stored, or why it failed, and when next."""
    when = result.next_poll_at.strftime("%H:%M:%S") if result.next_poll_at else "-"
    head = f"{result.key:<20} {'done' if result.error is None else 'FAILED':<8}"
    r = result.report
    stored = f"{r.stories} new, {r.matched} matched, {r.queued} alerts queued"
    if result.error is not None:
        kept = f"; kept {stored}" if result.items else ""
        return f"{head} {result.error} ({result.failures}x, retry at {when} UTC){kept}"
    return (
        f"{head} {result.list_pages} list pages, {result.pages} articles, {result.items} items, "
        f"{result.errors} errors, {result.blocked} blocked: {stored}  "
        f"{result.seconds:.1f} s, next {when} UTC"
    )

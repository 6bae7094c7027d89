"""The crawl child: `python -m crawler.spiders.run`, a JSON job on stdin, events on stdout.

The job is the first line of stdin (`CrawlJob.to_json`); stdout carries
only events, one JSON line each (`crawler.spiders.events`), while
anything else that writes to stdout is sent to stderr with Scrapy's log.
The parent keeps stdin open: end of file means the parent is gone, and
the child exits rather than crawl for nobody.

Sources on the same host crawl one after another, so two of them never
double the per-domain limit; different hosts crawl at the same time. A
spider that cannot start is reported as done with reason "crashed: ..."
and the others go on. The exit status is 0 once the reactor has run.

A source with `render = "browser"` crawls in a crawler of its own with
scrapy-playwright's handler (`crawler.spiders.browser`), one page at a
time, and one browser source at a time in a batch (a Chromium each). When
the extra or Chromium is missing such a source is done at once with a
one-line reason saying what to install. Batches without one never import
Playwright.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import IO, Any
from urllib.parse import urlsplit

from scrapy.crawler import AsyncCrawlerRunner
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.log import configure_logging
from scrapy.utils.reactor import install_reactor

from crawler.spiders.browser import BROWSER, browser_settings, unavailable
from crawler.spiders.events import Done, Event, encode
from crawler.spiders.job import CrawlJob, CrawlSettings, SourceJob
from crawler.spiders.listing import ListingSpider
from crawler.spiders.news import NewsSectionSpider
from crawler.spiders.notices import GovNoticesSpider
from crawler.spiders.settings import scrapy_settings

SPIDERS: dict[str, type[ListingSpider]] = {
    "listing": ListingSpider,
    "gov-notices": GovNoticesSpider,
    "news-section": NewsSectionSpider,
}
log = logging.getLogger("crawler.spiders.run")


class EventWriter:
    """Events as JSON lines on a stream of their own, flushed one by one (progress is live)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        self.stream.write(encode(event) + "\n")
        self.stream.flush()


def claim_stdout() -> IO[str]:
    """A private handle on stdout for events; fd 1 itself now points at stderr."""
    events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return events


def exit_when_parent_goes(fd: int) -> None:
    """Exit at once when stdin reaches end of file (the parent closed it or died).

    Reads the raw descriptor: a thread blocked in a buffered read would
    hold the buffer's lock and abort the interpreter's normal exit.
    """

    def watch() -> None:
        while os.read(fd, 4096):
            pass
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def by_host(sources: Sequence[SourceJob]) -> list[list[SourceJob]]:
    """Sources grouped by their first start URL's host, in job order."""
    groups: defaultdict[str, list[SourceJob]] = defaultdict(list)
    for source in sources:
        groups[urlsplit(source.spec.start_urls[0]).hostname or ""].append(source)
    return list(groups.values())


class Runners:
    """The batch's crawler runner, and one with the browser's settings made when first needed."""

    def __init__(self, settings: dict[str, Any], crawl: CrawlSettings) -> None:
        self.settings = settings
        self.crawl = crawl
        self.plain = AsyncCrawlerRunner(Settings(settings))
        self._browser: AsyncCrawlerRunner | None = None

    def for_source(self, source: SourceJob) -> AsyncCrawlerRunner:
        if source.spec.render != BROWSER:
            return self.plain
        if self._browser is None:
            self._browser = AsyncCrawlerRunner(
                Settings({**self.settings, **browser_settings(self.crawl)})
            )
        return self._browser


async def crawl_all(runners: Runners, job: CrawlJob, emit: EventWriter) -> None:
    no_browser = (
        unavailable(job.settings) if any(s.spec.render == BROWSER for s in job.sources) else None
    )
    one_browser = asyncio.Lock()  # one Chromium at a time in a batch: each takes ~100s of MB

    async def crawl(source: SourceJob) -> None:
        try:
            await runners.for_source(source).crawl(
                SPIDERS[source.spec.spider],
                spec=source.spec,
                seen=source.seen,
                emit=emit,
                timeout=job.settings.timeout,
            )
        except Exception as exc:  # one spider's failure is its source's alone
            log.exception("source %s: spider crashed", source.spec.key)
            emit(Done(source.spec.key, f"crashed: {type(exc).__name__}: {exc}"[:300]))

    async def one_host(sources: list[SourceJob]) -> None:
        for source in sources:
            if source.spec.render != BROWSER:
                await crawl(source)
            elif no_browser:
                log.error("source %s: %s", source.spec.key, no_browser)
                emit(Done(source.spec.key, f"unavailable: {no_browser}"))
            else:
                async with one_browser:
                    await crawl(source)

    await asyncio.gather(*(one_host(group) for group in by_host(job.sources)))


def main() -> int:
    events = EventWriter(claim_stdout())
    job = CrawlJob.from_json(sys.stdin.buffer.readline().decode("utf-8"))
    exit_when_parent_goes(sys.stdin.fileno())
    settings = scrapy_settings(job.settings, [s.spec for s in job.sources])
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    configure_logging(Settings(settings))
    runners = Runners(settings, job.settings)
    from twisted.internet import reactor

    @deferred_f_from_coro_f
    async def run() -> None:
        try:
            await crawl_all(runners, job, events)
        finally:
            reactor.stop()  # type: ignore[attr-defined]

    run()
    reactor.run()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())

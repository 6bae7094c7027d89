"""`crackdown sources check`: fetch each source once and say what it yields, storing nothing.

For an operator verifying a catalogue entry from their own network: items
found, how many have a date, the newest date, and what could not be read
(an HTTP error, an unreadable item, a JavaScript challenge that needs a
browser). Feeds and JSON APIs are fetched here with the poller's client
and limits; spiders run in one crawl child process, as `crackdown crawl`
runs them, with nothing marked as seen.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

import httpx

from crackdown.config import Config, SourceConfig
from crackdown.runtime.crawling import crawl_settings, spider_spec
from crawler.feeds import FeedError, poll_feed
from crawler.http import FetchError, HttpPolicy, make_client
from crawler.jsonapi import fetch_detail, poll_api
from crawler.netguard import fetching_for
from crawler.spiders.events import Done, Error, Event, Item
from crawler.spiders.job import CrawlJob, SourceJob
from crawler.spiders.launch import run_batch
from crawler.types import FetchState, RawStory

CHALLENGE_HINT = "needs render = browser"


@dataclass
class CheckResult:
    """One source's check: a line of `crackdown sources check`."""

    key: str
    kind: str
    items: int = 0
    titled: int = 0
    linked: int = 0
    dated: int = 0
    newest: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.items > 0 and not self.problems

    def count(self, stories: Sequence[RawStory]) -> None:
        self.items += len(stories)
        self.titled += sum(1 for s in stories if s.title)
        self.linked += sum(1 for s in stories if s.url.startswith(("http://", "https://")))
        dates = [s.published_at for s in stories if s.published_at is not None]
        self.dated += len(dates)
        if dates:
            self.newest = max([*dates, *([self.newest] if self.newest else [])])
        if stories and not dates:
            self.problems.append("no item has a date")

    def line(self) -> str:
        newest = f"{self.newest.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if self.newest else "-"
        head = f"{self.key:<24} {self.kind:<6} {self.items:>4} items {self.dated:>4} dated  "
        head += f"newest {newest:<20}"
        verdict = "ok" if self.ok else "; ".join(self.problems) or "no items"
        return f"{head} {verdict}"


async def _check_polled(
    source: SourceConfig, client: httpx.AsyncClient, policy: HttpPolicy, result: CheckResult
) -> None:
    try:
        if source.kind == "json":
            assert source.api is not None
            spec = source.api.spec()
            fetched, found = await poll_api(
                client,
                source_key=source.key,
                url=source.url,
                state=FetchState(),
                policy=policy,
                spec=spec,
                lang=source.lang,
            )
            result.problems += list(found.problems)
            if found.details:  # one detail request shows whether bodies can be read
                url = next(iter(found.details.values()))
                try:
                    if not await fetch_detail(client, url, spec, policy):
                        result.problems.append(f"detail {url}: no body at {spec.detail_body!r}")
                except FetchError as exc:
                    result.problems.append(f"detail {url}: {exc}")
        else:
            fetched = await poll_feed(
                client, source_key=source.key, url=source.url, state=FetchState(), policy=policy
            )
            if fetched.warning:
                result.problems.append(f"malformed feed: {fetched.warning}")
    except FeedError as exc:
        result.problems.append(str(exc))
        return
    result.count(fetched.stories)


async def _check_spiders(
    config: Config, sources: Sequence[SourceConfig], results: dict[str, CheckResult]
) -> None:
    found: defaultdict[str, list[RawStory]] = defaultdict(list)

    def on_event(event: Event) -> None:
        result = results.get(getattr(event, "source", ""))
        if result is None:
            return
        if isinstance(event, Item):
            found[event.source].append(event.story.raw(event.source))
        elif isinstance(event, Error) and not event.blocked:
            result.problems.append(f"{event.kind} {event.url}: {event.error}")
        elif isinstance(event, Done) and not event.reason.startswith("finished"):
            result.problems.append(f"spider {event.reason}")

    job = CrawlJob(
        crawl_settings(config), tuple(SourceJob(spider_spec(s, config.crawl)) for s in sources)
    )
    outcome = await run_batch(job, timeout=config.crawl.batch_timeout, on_event=on_event)
    for source in sources:
        results[source.key].count(found[source.key])
        if source.key not in outcome.finished and outcome.error:
            results[source.key].problems.append(outcome.error)


async def check_sources(
    config: Config, sources: Sequence[SourceConfig], policy: HttpPolicy
) -> list[CheckResult]:
    """Every source fetched once (spiders in one crawl process), in the order given."""
    results = {s.key: CheckResult(s.key, s.kind) for s in sources}
    polled = [s for s in sources if s.kind != "spider"]
    spiders = [s for s in sources if s.kind == "spider"]
    async with make_client(policy, keepalive=config.http.concurrency) as client:
        limit = asyncio.Semaphore(config.http.concurrency)

        async def one(source: SourceConfig) -> None:
            async with limit:
                with fetching_for(source.key, source.configured_urls):
                    await _check_polled(source, client, policy, results[source.key])

        tasks = [one(s) for s in polled]
        if spiders:
            tasks.append(_check_spiders(config, spiders, results))
        await asyncio.gather(*tasks)
    return [results[s.key] for s in sources]


def print_check(results: Sequence[CheckResult], out: TextIO) -> int:
    """The lines and a total; exit status 1 when a source yielded nothing or had problems."""
    for result in results:
        out.write(result.line() + "\n")
    good = sum(1 for r in results if r.ok)
    out.write(f"{len(results)} checked: {good} ok, {len(results) - good} with problems\n")
    return 0 if good == len(results) else 1

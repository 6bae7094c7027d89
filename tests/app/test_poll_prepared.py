"""Stories normalised and matched in the parse worker are stored as if done in-line.

A first cycle's per-story work (normalise, match, search text) runs in the
parse worker (`crackdown.runtime.feed_work`). What is stored must be exactly
what the in-line path stores: the same stories, matches, clusters, search
index and outbox rows, and a /watch query added after the workers started
must still be matched.
Feeds are polled one at a time here (`http.concurrency = 1`), so that both
runs store in the same order and even row ids and clusters compare equal.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bench.feeds import make_corpus
from crackdown.app import App, open_app
from crackdown.config import DEFAULT_TOPIC, build_config
from crackdown.demo.site import LoopbackSite, Page
from crackdown.runtime import feed_work, polling
from crackdown.runtime.filters import FilterSpec
from crackdown.runtime.parse_pool import ParsePool
from crackdown.runtime.polling import Poller, PollReport
from crawler.http import make_client
from crawler.types import MatchResult, Story
from storage import clusters, subscribers
from storage.db import Database

FEEDS, ENTRIES = 40, 25
QUERIES = ("housing budget", "Ethereum developers", "电池")
LATE_QUERY = "quarterly revenue"  # watched once the workers have started


def serve(site: LoopbackSite, seed: int, prefix: str) -> list[dict[str, str]]:
    corpus = make_corpus(FEEDS, ENTRIES, seed, 1)
    sources = []
    for spec in corpus.specs:
        kind = "rss" if spec.form == "rss" else "atom"
        site.pages[prefix + spec.path] = Page(
            corpus.bodies[spec.path], content_type=f"application/{kind}+xml; charset={spec.charset}"
        )
        sources.append({"key": spec.key, "url": site.url(prefix + spec.path), "lang": spec.lang})
    return sources


def make_app(tmp_path: Path, name: str, sources: list[dict[str, str]]) -> App:
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / f'{name}.sqlite'}"},
        "http": {"concurrency": 1},  # one feed at a time: both runs store in one order
        "polling": {"jitter": 0},
        "sources": sources,
    }
    app = open_app(build_config(document, {}))
    with app.db.session() as session:
        subscribers.subscribe(session, 1001, topic=DEFAULT_TOPIC)
        subscribers.subscribe(session, 1002, topic=DEFAULT_TOPIC)
        for chat, query in enumerate(QUERIES, start=2001):
            subscribers.add(session, chat, "query", query)
    return app


def watch_late(app: App) -> None:
    """A chat watches LATE_QUERY, and the filter picks it up (as the daemon's next tick)."""
    with app.db.session() as session:
        subscribers.add(session, 3001, "query", LATE_QUERY)
    app.filters.refresh(app.db)


def poll(app: App) -> PollReport:
    async def go() -> PollReport:
        async with make_client(app.policy) as client:
            return await app.poller(client).poll(app.feeds())

    return asyncio.run(go())


def contents(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a poll stores, ids included (both runs store in one order)."""
    queries = {
        "stories": "SELECT id, canonical_url, url, title, summary, body, lang, published_at, "
        "fingerprint, cluster_id FROM stories ORDER BY id",
        "reports": "SELECT story_id, source_id, url FROM story_sources ORDER BY 1, 2",
        "matches": "SELECT story_id, entities, topics, hits, score, actions, actors "
        "FROM matches ORDER BY 1",
        "alerts": "SELECT id, story_id, subscriber_id, edit_of_id, status FROM deliveries "
        "ORDER BY id",
        "health": "SELECT key, etag, consecutive_failures, items_seen FROM sources ORDER BY key",
        "search": "SELECT rowid, doc FROM story_fts ORDER BY rowid",
    }
    with db.engine.connect() as connection:
        return {k: [tuple(r) for r in connection.execute(text(q))] for k, q in queries.items()}


class WorkerVerdicts:
    """Counts the polls stored with the worker's verdicts, and the pools started."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.used = self.stale = 0
        self.started: list[ProcessPoolExecutor | None] = []

        def prepared(
            poll: Any, spec: FilterSpec | None
        ) -> tuple[dict[str, Story], dict[str, MatchResult] | None]:
            batch, verdicts = real_prepared(poll, spec)
            if poll.prepared is not None and poll.prepared.matches is not None:
                self.used += verdicts is not None
                self.stale += verdicts is None
            return batch, verdicts

        def start(pool: ParsePool) -> ProcessPoolExecutor | None:
            executor = real_start(pool)
            while executor is not None and not executor.submit(feed_work.has_filter).result(60):
                time.sleep(0.02)  # ready once the worker's filter is built
            self.started.append(executor)
            return executor

        async def ready(pool: ParsePool) -> ProcessPoolExecutor | None:
            """Every feed waits for the workers (none parsed in-line while they start)."""
            await real_ready(pool)
            if pool._starting is not None:
                await asyncio.shield(pool._starting)
            return await real_ready(pool)

        real_prepared, real_start, real_ready = Poller._prepared, ParsePool._start, ParsePool._ready
        monkeypatch.setattr(Poller, "_prepared", staticmethod(prepared))
        monkeypatch.setattr(ParsePool, "_start", start)
        monkeypatch.setattr(ParsePool, "_ready", ready)


def in_workers(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    monkeypatch.setattr(polling, "PARSE_POOL_MIN_SOURCES", 2)
    # one poll a transaction: events and alerts no longer depend on it (test_poll_batching.py),
    # but edits do: an event's later reports stored with its first are listed in that alert
    monkeypatch.setattr(polling, "STORE_BATCH", 1)
    monkeypatch.setattr(polling, "default_parse_workers", lambda: workers)


def test_a_poll_prepared_in_the_worker_stores_what_the_in_line_path_stores(
    tmp_path: Path, site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = serve(site, 7, "/a")
    spy = WorkerVerdicts(monkeypatch)
    in_workers(monkeypatch, 0)
    alone = make_app(tmp_path, "alone", sources)
    expected = poll(alone)
    in_workers(monkeypatch, 1)
    pooled = make_app(tmp_path, "pooled", sources)
    signed_here = []
    real_signature = clusters.signature

    def signature(story: Story, names: Any = ()) -> Any:
        signed_here.append(story.canonical_url)
        return real_signature(story, names)

    monkeypatch.setattr(clusters, "signature", signature)
    report = poll(pooled)

    assert spy.started and spy.started[0] is not None and spy.used == FEEDS
    # the worker made the signatures of the stories clustered (no chat follows an entity)
    assert signed_here == []
    assert report.failed == expected.failed == []
    assert (report.stories, report.matched, report.queued) == (
        expected.stories,
        expected.matched,
        expected.queued,
    )
    ours, theirs = contents(pooled.db), contents(alone.db)
    assert ours == theirs
    clustered = [row for row in ours["stories"] if row[-1] not in (None, row[0])]
    assert clustered, "the corpus has stories that join another's cluster"
    assert any(row[3] is not None for row in ours["alerts"]), "and edits of earlier alerts"
    with pooled.db.engine.connect() as connection:
        query_alerts = connection.execute(
            text(
                "SELECT count(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
                "WHERE s.chat_id > 2000"
            )
        ).scalar_one()
    assert query_alerts > 0  # the watched queries matched in the worker


def test_a_query_watched_after_the_workers_started_is_matched(
    tmp_path: Path, site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers' filter lacks the query: their verdicts must not be stored."""
    sources = serve(site, 11, "/b")
    spy = WorkerVerdicts(monkeypatch)
    in_workers(monkeypatch, 0)
    alone = make_app(tmp_path, "alone", sources)
    watch_late(alone)
    poll(alone)

    in_workers(monkeypatch, 1)
    pooled = make_app(tmp_path, "pooled", sources)
    real_using = ParsePool.using

    @contextlib.asynccontextmanager
    async def using(
        pool: ParsePool, spec: FilterSpec | None = None, quiet: frozenset[str] | None = None
    ) -> AsyncIterator[Any]:
        async with real_using(pool, spec, quiet) as parse:  # the workers get the filter of now
            watch_late(pooled)  # ... and a chat watches one more query right after
            yield parse

    monkeypatch.setattr(ParsePool, "using", using)
    poll(pooled)
    assert contents(pooled.db) == contents(alone.db)
    assert late_alerts(pooled.db) > 0
    assert spy.started and spy.stale == FEEDS and spy.used == 0


def test_a_query_watched_between_polls_is_matched_in_the_worker(
    tmp_path: Path, site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next poll's workers start with the filter as it is then."""
    spy = WorkerVerdicts(monkeypatch)
    runs: dict[str, App] = {}
    for name, workers in (("alone", 0), ("pooled", 1)):
        in_workers(monkeypatch, workers)
        app = runs[name] = make_app(tmp_path, name, serve(site, 13, "/c"))
        poll(app)
        watch_late(app)
        serve(site, 17, "/c")  # the same feeds now carry other stories
        poll(app)
    assert len(spy.started) == 2 and spy.used == 2 * FEEDS and spy.stale == 0
    assert contents(runs["pooled"].db) == contents(runs["alone"].db)
    assert late_alerts(runs["pooled"].db) > 0


def late_alerts(db: Database) -> int:
    with db.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
                "WHERE s.chat_id = 3001"
            )
        ).scalar_one()


KNOWN_FEEDS = 3


def rss(items: list[tuple[str, str]]) -> Page:
    """An RSS feed of (link, title) items, each dated and with a one-line summary."""
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{title}. More on the story.</description>"
        f"<pubDate>Sun, 06 Dec 2026 {10 + n:02d}:00:00 GMT</pubDate></item>"
        for n, (link, title) in enumerate(items)
    )
    channel = f"<channel><title>t</title>{entries}</channel>"
    body = f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'
    return Page(body.encode(), content_type="application/rss+xml; charset=utf-8")


def serve_rounds(site: LoopbackSite, prefix: str, round_: int) -> list[dict[str, str]]:
    """Round 0: items a, b, c. Round 1: a as it was, b retitled (same link), c under a new
    link, and d new; round 2 (after a restart): one more, e. Topic headlines among them."""
    sources = []
    for i in range(KNOWN_FEEDS):
        host = f"https://n{i}.example"
        items = [
            (f"{host}/a", f"Weather report {i}: rain in the north"),
            (f"{host}/b", f"Local team wins the cup {i}"),
            (f"{host}/c", "China's central bank bans bitcoin OTC trading"),
        ]
        if round_ >= 1:
            items[1] = (f"{host}/b", "央行：严禁为虚拟货币交易提供服务")  # known: not a new story
            items[2] = (f"{host}/c?page=2", "China's central bank bans bitcoin OTC trading")
            items.append((f"{host}/d", f"Police in Shenzhen seize {i + 3} crypto mining rigs"))
        if round_ >= 2:
            items.append((f"{host}/e", f"Court jails bitcoin OTC trader {i} for money laundering"))
        path = f"{prefix}/{i}.xml"
        site.pages[path] = rss(items)
        sources.append({"key": f"known-{i}", "url": site.url(path), "lang": "en"})
    return sources


def test_a_feeds_known_items_are_left_out_in_the_worker_and_new_ones_stored(
    tmp_path: Path, site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker leaves out the items a feed had at its last poll; what is stored is what
    the in-line path stores: a changed link is a new story, a changed text of a known link
    is not, and after a restart (a new poller, no memory) the database dedups."""
    skipped: list[int] = []
    items: list[int] = []
    real_prepared = Poller._prepared

    def prepared(
        poll: Any, spec: FilterSpec | None
    ) -> tuple[dict[str, Story], Mapping[str, MatchResult] | None]:
        if poll.prepared is not None:
            skipped.append(getattr(poll.prepared, "skipped", 0))
        items.append(len(poll.found) if poll.prepared is None else poll.items)
        return real_prepared(poll, spec)

    monkeypatch.setattr(Poller, "_prepared", staticmethod(prepared))
    WorkerVerdicts(monkeypatch)  # every feed waits for the workers, none parsed in-line
    runs: dict[str, tuple[App, list[PollReport]]] = {}
    for name, workers in (("alone", 0), ("pooled", 1)):
        in_workers(monkeypatch, workers)
        prefix = f"/{name}"
        app = make_app(tmp_path, name, serve_rounds(site, prefix, 0))
        skipped.clear()
        items.clear()

        async def two_polls(app: App, prefix: str) -> list[PollReport]:
            async with make_client(app.policy) as client:
                poller = app.poller(client)  # one poller, as the daemon keeps it
                first = await poller.poll(app.feeds())
                serve_rounds(site, prefix, 1)
                return [first, await poller.poll(app.feeds())]

        reports = asyncio.run(two_polls(app, prefix))
        serve_rounds(site, prefix, 2)
        reports.append(poll(app))  # a new poller: a restarted daemon
        runs[name] = (app, reports)
        if workers:
            # round 1: a and b left out in each feed; round 2 (restart): nothing known
            assert skipped == [0] * KNOWN_FEEDS + [2] * KNOWN_FEEDS + [0] * KNOWN_FEEDS
        assert items == [3] * KNOWN_FEEDS + [4] * KNOWN_FEEDS + [5] * KNOWN_FEEDS
    (alone, expected), (pooled, got) = runs["alone"], runs["pooled"]
    counts = [[(r.stories, r.matched, r.queued) for r in reports] for reports in (got, expected)]
    assert counts[0] == counts[1]
    assert [r.stories for r in got] == [3 * KNOWN_FEEDS, 2 * KNOWN_FEEDS, KNOWN_FEEDS]
    assert got[1].matched > 0  # the new link and the new story matched and alerted
    ours, theirs = contents(pooled.db), contents(alone.db)
    assert ours == theirs

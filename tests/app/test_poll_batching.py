"""Which polls share a transaction must not change clusters or alerts.

The poller stores the polls that end at about one time in one transaction
(`crackdown.runtime.recorder`), so which polls share one depends on network
timing. Here the same polls, fetched once from a loopback site, are stored
in the order they arrived through `store_found` (what the recorder's store
calls): one poll a transaction, then several polls a transaction in uneven
groups. Every story must end in the same event, and every chat must be
queued the same alerts (none missed, none doubled). Edits of earlier alerts
may differ: a chat queued an event's first report in the same transaction
gets its later reports in that alert, not as edits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.feeds import make_corpus
from crackdown.app import App, open_app
from crackdown.config import DEFAULT_TOPIC, build_config
from crackdown.demo.site import LoopbackSite, Page
from crackdown.runtime.pipeline import prepare, store_found
from crawler.feeds import poll_feed
from crawler.http import make_client
from crawler.netguard import fetching_for
from crawler.types import FetchState, Story
from storage import subscribers
from tests.conftest import BACKENDS, PgServer

FEEDS, ENTRIES = 40, 25
QUERIES = ("housing budget", "Ethereum developers", "电池")
GROUPS = (3, 16, 5, 9, 1, 7)  # polls a transaction, in turn: uneven, as timing makes them


@pytest.fixture(params=BACKENDS)
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases on one backend: one for each way of batching."""
    if request.param == "sqlite":
        yield (f"sqlite:///{tmp_path / 'one.sqlite'}", f"sqlite:///{tmp_path / 'many.sqlite'}")
        return
    server: PgServer = request.getfixturevalue("pg_server")
    names = (server.create_database(), server.create_database())
    yield (server.url_for(names[0]), server.url_for(names[1]))
    for name in names:
        server.drop_database(name)


def serve(site: LoopbackSite, seed: int) -> list[dict[str, str]]:
    corpus = make_corpus(FEEDS, ENTRIES, seed, 1)
    sources = []
    for spec in corpus.specs:
        kind = "rss" if spec.form == "rss" else "atom"
        site.pages[spec.path] = Page(
            corpus.bodies[spec.path], content_type=f"application/{kind}+xml; charset={spec.charset}"
        )
        sources.append({"key": spec.key, "url": site.url(spec.path), "lang": spec.lang})
    return sources


def make_app(url: str, sources: list[dict[str, str]]) -> App:
    app = open_app(build_config({"storage": {"url": url}, "sources": sources}, {}))
    with app.db.session() as session:
        subscribers.subscribe(session, 1001, topic=DEFAULT_TOPIC)
        subscribers.subscribe(session, 1002, topic=DEFAULT_TOPIC)
        for chat, query in enumerate(QUERIES, start=2001):
            subscribers.add(session, chat, "query", query)
    app.filters.refresh(app.db)
    return app


def fetch_polls(app: App) -> list[dict[str, Story]]:
    """Every feed polled once over HTTP, prepared as the poller prepares a poll."""

    async def go() -> list[dict[str, Story]]:
        polls = []
        async with make_client(app.policy) as client:
            for source in app.feeds():
                with fetching_for(source.key, source.configured_urls):
                    fetched = await poll_feed(
                        client,
                        source_key=source.key,
                        url=source.url,
                        state=FetchState(),
                        policy=app.policy,
                        lang=source.lang,
                    )
                polls.append(prepare(fetched.stories, datetime.now(UTC)))
        return polls

    return asyncio.run(go())


def store(app: App, polls: list[dict[str, Story]], groups: Sequence[int]) -> None:
    """Store `polls` in order, `groups[i % len(groups)]` polls the i-th transaction."""
    start = turn = 0
    while start < len(polls):
        size = groups[turn % len(groups)]
        with app.db.session() as session:
            store_found(session, app.filters, polls[start : start + size])
        start, turn = start + size, turn + 1


def outcome(app: App) -> tuple[dict[str, str], set[tuple[str, int]], int]:
    """Each story's event (its first report's URL), the alerts queued, and the edits."""
    with app.db.engine.connect() as connection:
        events = dict(
            connection.execute(
                text(
                    "SELECT s.canonical_url, c.canonical_url FROM stories s"
                    " JOIN stories c ON c.id = s.cluster_id"
                )
            ).all()
        )
        alerts = connection.execute(
            text(
                "SELECT s.canonical_url, b.chat_id, d.edit_of_id FROM deliveries d"
                " JOIN stories s ON s.id = d.story_id JOIN subscribers b ON b.id = d.subscriber_id"
            )
        ).all()
    first = [(url, chat) for url, chat, edit_of in alerts if edit_of is None]
    assert len(first) == len(set(first))
    return events, set(first), len(alerts) - len(first)


def test_clusters_and_alerts_do_not_depend_on_which_polls_share_a_transaction(
    site: LoopbackSite, two_urls: tuple[str, str]
) -> None:
    sources = serve(site, 7)
    alone, together = (make_app(url, sources) for url in two_urls)
    try:
        polls = fetch_polls(alone)
        assert len(polls) == FEEDS
        store(alone, polls, [1])
        store(together, polls, GROUPS)
        (events, alerts, edits), (their_events, their_alerts, their_edits) = (
            outcome(alone),
            outcome(together),
        )
    finally:
        alone.db.dispose()
        together.db.dispose()

    assert sum(url != event for url, event in events.items()) > 50, "the corpus clusters"
    assert edits > their_edits > 0  # one poll a transaction edits more: see the docstring
    moved = {
        url: (events[url], their_events.get(url))
        for url in events
        if their_events.get(url) != events[url]
    }
    assert not moved, f"{len(moved)} stories in another event when polls share a transaction"
    assert their_alerts == alerts

"""How a batch of stories is written: one statement a table, each story its own event at INSERT.

Storing is the first polling cycle's biggest cost (bench/feeds.py). These
pin the statements a batch costs, on SQLite and PostgreSQL: a new story is
never rewritten by an UPDATE (one that joins another event is inserted with
its cluster id), and the ids handed back are the stored rows' own, even when
another writer stored meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from crackdown.runtime.pipeline import store_found
from crawler.normalize import normalise
from crawler.types import MatchResult, RawStory, Story
from storage import sources, stories, subscribers
from storage.clusters import ClusterSettings
from storage.db import Database
from storage.models import Delivery, MatchRow, StoryRow, StorySource
from tests.probing import shipped_matcher

TOPIC = "china-crypto-enforcement"
START = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def seeded(db: Database) -> Database:
    db.configure(clustering=ClusterSettings())
    with db.session() as session:
        sources.sync_sources(session, [("feed", "feed", "https://a.example/feed")])
        subscribers.subscribe(session, 1001, topic=TOPIC)
        subscribers.subscribe(session, 1002, topic=TOPIC)
    return db


def story(n: int, title: str) -> Story:
    raw = RawStory(
        "feed",
        f"https://n.example/{n}",
        title,
        summary=f"Report number {n} on {title}",
        published_at=START + timedelta(minutes=n),
    )
    return normalise(raw, fetched_at=START + timedelta(days=1))


@contextmanager
def statements(db: Database) -> Iterator[list[tuple[str, bool]]]:
    """(SQL, executemany) of every statement sent to the driver while active."""
    seen: list[tuple[str, bool]] = []

    def record(_conn: Any, _cursor: Any, sql: str, _params: Any, _ctx: Any, many: bool) -> None:
        seen.append((" ".join(sql.split()), many))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_batch_costs_one_insert_a_table_and_no_update_of_new_stories(
    seeded: Database,
) -> None:
    """300 stories, matched and not: one INSERT a table, each story its own event at INSERT."""
    matcher = shipped_matcher()
    items = [
        (s, matcher.match(s))
        for n in range(300)
        for s in [story(n, f"PBoC bans bitcoin OTC desk {n}" if n % 3 else f"Weather {n}")]
    ]
    with statements(seeded) as seen, seeded.session() as session:
        outcomes = stories.store_stories(session, items, skip_known=False)
        own = session.execute(select(StoryRow.id, StoryRow.cluster_id)).all()
    assert all(o.story_id is not None for o in outcomes)
    inserts = [sql.split("(")[0].split()[-1].strip('"') for sql, _ in seen if "INSERT" in sql]
    for table in ("stories", "story_sources", "matches", "deliveries"):
        assert inserts.count(table) == 1, (table, inserts)
    updates = [sql for sql, _ in seen if sql.startswith("UPDATE stories") and not _locks(sql)]
    assert not updates, updates
    assert all(c is not None for _, c in own)


def test_a_story_joining_another_event_is_inserted_with_its_cluster_id(
    seeded: Database,
) -> None:
    """One report of an event in six polls: five join the first, and no row is updated.

    Before, each was inserted as its own event and then updated (a first cycle's
    4,928 UPDATEs, each rewriting a story row and its cluster index entry).
    """
    matcher = shipped_matcher()
    items = [(s, matcher.match(s)) for n in range(6) for s in [story(n, "PBoC bans bitcoin OTC")]]
    with statements(seeded) as seen, seeded.session() as session:
        outcomes = stories.store_stories(session, items, skip_known=False)
    ids = [o.story_id for o in outcomes]
    with seeded.session() as session:
        clusters = dict(session.execute(select(StoryRow.id, StoryRow.cluster_id)).all())
    assert [clusters[i] for i in ids] == [ids[0]] * 6
    assert not [sql for sql, _ in seen if sql.startswith("UPDATE") and not _locks(sql)]


def _locks(sql: str) -> bool:
    """SQLite's write lock taken before the ids are chosen: an UPDATE that changes no row."""
    return sql.endswith("WHERE 0")


def test_a_story_is_its_own_event_as_soon_as_it_is_inserted(seeded: Database) -> None:
    """Clustering off: nothing but the INSERT writes the story row; cluster_id is its id."""
    seeded.configure(clustering=ClusterSettings(enabled=False))
    items = [(story(n, f"Police arrest OTC dealers in case {n}"), MatchResult()) for n in range(5)]
    with statements(seeded) as seen, seeded.session() as session:
        outcomes = stories.store_stories(session, items)
    assert not [sql for sql, _ in seen if sql.startswith("UPDATE") and not _locks(sql)]
    with seeded.session() as session:
        rows = session.execute(select(StoryRow.id, StoryRow.cluster_id, StoryRow.canonical_url))
        by_url = {url: (story_id, cluster) for story_id, cluster, url in rows}
    for (item, _), outcome in zip(items, outcomes, strict=True):
        assert by_url[item.canonical_url] == (outcome.story_id, outcome.story_id)


def test_ids_are_the_stored_rows_even_after_another_writer_stored(seeded: Database) -> None:
    """A second Database (another daemon) stores between our check and our INSERT."""
    other = Database(seeded.url)
    matcher = shipped_matcher()
    try:
        mine = [story(n, f"Binance OTC desk {n} shut by police") for n in range(3)]
        theirs = [story(n, f"Alipay freezes crypto wallets, case {n}") for n in range(10, 14)]
        with seeded.session() as session:
            assert not stories.known_urls(session, [s.canonical_url for s in mine])
            with other.session() as their_session:
                stories.store_stories(their_session, [(s, matcher.match(s)) for s in theirs])
            outcomes = stories.store_stories(session, [(s, matcher.match(s)) for s in mine])
        with seeded.session() as session:
            stored = dict(session.execute(select(StoryRow.canonical_url, StoryRow.id)).all())
            sources_of = dict(session.execute(select(StorySource.story_id, StorySource.url)).all())
            matched = set(session.scalars(select(MatchRow.story_id)))
            queued = set(session.scalars(select(Delivery.story_id)))
        for s, outcome in zip(mine, outcomes, strict=True):
            assert stored[s.canonical_url] == outcome.story_id
            assert sources_of[outcome.story_id] == s.url
            assert outcome.story_id in matched and outcome.story_id in queued
        # A row inserted the ORM's way afterwards takes the next id (the sequence moved on).
        with seeded.session() as session:
            row = StoryRow(
                canonical_url="https://n.example/orm",
                url="https://n.example/orm",
                source_id=1,
                title="t",
                lang="en",
                published_at=START,
                fingerprint="f",
            )
            session.add(row)
            session.flush()
            assert row.id > max(stored.values())
    finally:
        other.dispose()


def test_a_duplicate_url_still_raises_integrity_error_and_stores_nothing(
    seeded: Database,
) -> None:
    """pipeline.ingest relies on it: it rolls back and stores one story at a time."""
    matcher = shipped_matcher()
    first = story(1, "PBoC bans bitcoin OTC trading")
    with seeded.session() as session:
        stories.store_stories(session, [(first, matcher.match(first))])
    batch = [story(n, f"PBoC fines OTC desk {n}") for n in (2, 3)] + [first]
    with pytest.raises(IntegrityError), seeded.session() as session:
        stories.store_stories(session, [(s, matcher.match(s)) for s in batch], skip_known=False)
    with seeded.session() as session:
        assert session.execute(text("SELECT count(*) FROM stories")).scalar_one() == 1
        assert session.execute(text("SELECT count(*) FROM deliveries")).scalar_one() == 2


def test_also_reported_by_many_sources_costs_one_round_of_queries(seeded: Database) -> None:
    """Ten polls repeating stored stories: their "also reported" rows in 3 reads and 1 INSERT.

    Each source's count and rows are what noting them one source at a time gave,
    a repeat by the story's own source and one already noted count nothing.
    """
    keys = [f"wire{i}" for i in range(10)]
    with seeded.session() as session:
        sources.sync_sources(
            session,
            [("feed", "feed", "https://a.example/feed")]
            + [(key, key, f"https://{key}.example/feed") for key in keys],
        )
        stories.store_stories(
            session, [(story(n, f"Wire story {n}"), MatchResult()) for n in range(5)]
        )
        stories.record_also_reported(session, "wire0", {story(0, "x").canonical_url: "https://w/0"})
    matcher = shipped_matcher()
    polls = [
        {
            s.canonical_url: Story(**{**s.__dict__, "source_key": key, "url": f"{s.url}?via={key}"})
            for n in range(5)
            for s in [story(n, f"Wire story {n}")]
        }
        for key in keys
    ] + [{story(1, "x").canonical_url: story(1, "Wire story 1")}]  # its own source again
    with statements(seeded) as seen, seeded.session() as session:
        reports = store_found(session, matcher, polls)
    assert [r.also_reported for r in reports] == [4] + [5] * 9 + [0]
    reads = [sql for sql, _ in seen if sql.startswith("SELECT") and "story_sources" in sql]
    inserts = [sql for sql, _ in seen if sql.startswith("INSERT INTO story_sources")]
    assert len(reads) == 1 and len(inserts) == 1, seen
    with seeded.session() as session:
        rows = session.execute(
            select(StorySource.url).order_by(StorySource.seen_at, StorySource.id)
        ).scalars()
        urls = list(rows)
    assert urls[:5] == [f"https://n.example/{n}" for n in range(5)]
    assert urls[5] == "https://w/0"
    assert urls[6:] == [
        f"https://n.example/{n}?via={key}"
        for key in keys
        for n in range(5)
        if (key, n) != ("wire0", 0)
    ]

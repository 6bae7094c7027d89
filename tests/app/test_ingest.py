"""ingest(): one story, one alert, however many sources carry it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from crackdown.runtime.pipeline import ingest, ingest_one_by_one, prepare, store_found
from crawler.types import RawStory
from storage import outbox, sources, stories, subscribers
from storage.db import Database
from storage.migrate import upgrade
from tests.probing import shipped_matcher

TITLE = "PBoC bans bitcoin OTC trading"


def seeded(db: Database) -> Database:
    with db.session() as session:
        sources.sync_sources(
            session,
            [
                ("reuters", "feed", "https://a.example/feed"),
                ("8btc", "feed", "https://b.example/feed"),
            ],
        )
        subscribers.subscribe(session, 42, topic="china-crypto-enforcement")
    return db


def test_a_story_from_a_second_source_is_recorded_not_alerted_again(db: Database) -> None:
    seeded(db)
    matcher = shipped_matcher()
    now = datetime.now(UTC)
    first = ingest(db, matcher, [RawStory("reuters", "https://www.news.example/a/amp", TITLE)], now)
    second = ingest(
        db, matcher, [RawStory("8btc", "https://m.news.example/a?utm_source=x", TITLE)], now
    )
    again = ingest(db, matcher, [RawStory("8btc", "https://news.example/a", TITLE)], now)
    assert (first.stories, first.queued) == (1, 1)
    assert (second.stories, second.queued, second.also_reported) == (0, 0, 1)
    assert again.also_reported == 0  # already noted
    with db.session() as session:
        assert outbox.counts(session).pending == 1
        story_id = session.execute(text("SELECT id FROM stories")).scalar_one()
        assert stories.reporting_sources(session, story_id) == ["reuters", "8btc"]


def test_several_sources_in_one_transaction_store_what_one_at_a_time_would(db: Database) -> None:
    """store_found: the first source stores a story, the next notes it, and one alert goes out."""
    seeded(db)
    matcher = shipped_matcher()
    now = datetime.now(UTC)
    first = prepare(
        [
            RawStory("reuters", "https://www.news.example/a/amp", "old title"),
            RawStory("reuters", "https://news.example/a", TITLE),  # the feed repeats a link
        ],
        now,
    )
    second = prepare([RawStory("8btc", "https://m.news.example/a?utm_source=x", TITLE)], now)
    assert [s.title for s in first.values()] == [TITLE]  # its last item wins, as before
    with db.session() as session:
        one, two = store_found(session, matcher, [first, second])
    assert (one.stories, one.matched, one.queued, one.also_reported) == (1, 1, 1, 0)
    assert (two.stories, two.queued, two.also_reported) == (0, 0, 1)
    with db.session() as session:
        assert outbox.counts(session).pending == 1
        story_id = session.execute(text("SELECT id FROM stories")).scalar_one()
        assert stories.reporting_sources(session, story_id) == ["reuters", "8btc"]


def test_a_story_another_writer_stored_meanwhile_is_skipped_not_doubled(db: Database) -> None:
    seeded(db)
    matcher = shipped_matcher()
    now = datetime.now(UTC)
    batch = prepare(
        [RawStory("reuters", f"https://news.example/{n}", f"{TITLE} {n}") for n in (1, 2)], now
    )
    ingest(db, matcher, [RawStory("8btc", "https://news.example/1", TITLE)], now)  # the race
    report = ingest_one_by_one(db, matcher, batch)
    assert (report.stories, report.queued, report.also_reported) == (1, 1, 1)
    with db.session() as session:
        assert outbox.counts(session).pending == 2


def test_upgrading_a_0001_database_backfills_each_story_s_source(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db.engine, "0001")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sources (key, kind, url, consecutive_failures, items_seen, paused, "
                "created_at) "
                "VALUES ('old', 'feed', 'https://o.example/', 0, 0, 0, '2025-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO stories (canonical_url, url, source_id, title, summary, body, lang, "
                "published_at, fetched_at, fingerprint) VALUES ('https://o.example/1', "
                "'https://o.example/1', 1, 't', '', '', 'en', '2025-01-01 00:00:00', "
                "'2025-01-01 00:00:00', 'f')"
            )
        )
    db.upgrade()
    with db.session() as session:
        assert stories.reporting_sources(session, 1) == ["old"]
    db.dispose()

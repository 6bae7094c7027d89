"""Storage against real databases (SQLite, PostgreSQL): migrations, dedup, fan-out, leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory, Story
from storage import outbox, sources, stories, subscribers
from storage.db import Database, normalise_url
from storage.migrate import current_revision, head_revision
from storage.models import Delivery
from tests.conftest import sqlite_only
from tests.probing import shipped_matcher

TOPIC = "china-crypto-enforcement"


@pytest.fixture
def matcher() -> Matcher:
    return shipped_matcher()


@pytest.fixture
def seeded(db: Database) -> Database:
    with db.session() as session:
        sources.sync_sources(session, [("feed", "feed", "https://a.example/feed")])
        subscribers.subscribe(session, 1001, topic=TOPIC)
        subscribers.subscribe(session, 1002, topic=TOPIC)
    return db


def now() -> datetime:
    """Rows are due from their creation time, so 'now' is taken per test."""
    return datetime.now(UTC) + timedelta(seconds=1)


def make_story(
    url: str = "https://n.example/1", title: str = "PBoC bans bitcoin OTC trading"
) -> Story:
    return normalise(RawStory("feed", url, title), fetched_at=now())


def test_migrations_create_every_table_and_are_idempotent(db: Database) -> None:
    db.upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert {"sources", "stories", "matches", "subscribers", "subscriptions", "deliveries"} <= tables
    assert current_revision(db.engine) == head_revision(db.engine)


@sqlite_only
def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


@sqlite_only
def test_sqlite_keeps_a_page_cache_the_size_of_a_cycles_indexes(db: Database) -> None:
    # SQLite's default, 2 MB, made every insert of a polling cycle re-read index pages.
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert connection.execute(text("PRAGMA cache_size")).scalar() <= -16_384


def test_postgres_urls_as_providers_print_them_mean_psycopg_3() -> None:
    for url in ("postgres://u:p@db:5432/news", "postgresql://u:p@db:5432/news"):
        parsed = normalise_url(url)
        assert parsed.drivername == "postgresql+psycopg"
        assert (parsed.host, parsed.port, parsed.database) == ("db", 5432, "news")
    assert normalise_url("sqlite:///x.db").drivername == "sqlite"


def test_database_folder_is_created(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'deep' / 'er' / 'x.db'}")
    database.upgrade()
    database.dispose()
    assert (tmp_path / "deep" / "er" / "x.db").exists()


def test_a_matched_story_queues_one_row_per_subscriber(seeded: Database, matcher: Matcher) -> None:
    story = make_story()
    with seeded.session() as session:
        outcome = stories.store_story(session, story, matcher.match(story))
    assert outcome.deliveries == 2
    with seeded.session() as session:
        assert outbox.counts(session).pending == 2


def test_the_same_canonical_url_is_stored_once(seeded: Database, matcher: Matcher) -> None:
    first = make_story("https://n.example/1?utm_source=a")
    second = make_story("https://N.example/1#top")
    with seeded.session() as session:
        assert stories.store_story(session, first, matcher.match(first)).story_id is not None
    with seeded.session() as session:
        assert stories.store_story(session, second, matcher.match(second)).story_id is None
        assert outbox.counts(session).pending == 2


def test_enqueue_never_creates_a_second_row(seeded: Database, matcher: Matcher) -> None:
    story = make_story()
    with seeded.session() as session:
        story_id = stories.store_story(session, story, matcher.match(story)).story_id
        assert story_id is not None
        ids = stories.SubscriptionIndex(session).interested(matcher.match(story))
        assert stories.enqueue(session, story_id, ids) == 0
    with seeded.session() as session:
        assert len(session.scalars(select(Delivery)).all()) == 2


def test_unmatched_story_is_stored_without_alerts(seeded: Database, matcher: Matcher) -> None:
    story = make_story(title="Weather report")
    with seeded.session() as session:
        assert stories.store_story(session, story, matcher.match(story)).deliveries == 0
        assert stories.known_urls(session, [story.canonical_url]) == {story.canonical_url}


def test_claimed_rows_are_leased_and_reclaimed_after_the_lease(
    seeded: Database, matcher: Matcher
) -> None:
    story = make_story()
    with seeded.session() as session:
        stories.store_story(session, story, matcher.match(story))
    lease = timedelta(minutes=2)
    t0 = now()
    with seeded.session() as session:
        claimed = outbox.claim_due(session, t0, limit=10, lease=lease)
    assert {a.chat_id for a in claimed} == {1001, 1002}
    with seeded.session() as session:  # still leased: nobody else gets them
        assert outbox.claim_due(session, t0 + timedelta(minutes=1), limit=10, lease=lease) == []
    with seeded.session() as session:  # the worker died: the lease ran out
        again = outbox.claim_due(session, t0 + timedelta(minutes=3), limit=10, lease=lease)
    assert len(again) == 2 and all(a.attempts == 2 for a in again)


def test_sent_rows_are_not_claimed_again(seeded: Database, matcher: Matcher) -> None:
    story = make_story()
    with seeded.session() as session:
        stories.store_story(session, story, matcher.match(story))
    with seeded.session() as session:
        t0 = now()
        for alert in outbox.claim_due(session, t0, limit=10, lease=timedelta(seconds=1)):
            outbox.mark_sent(session, alert, 99, t0)
    with seeded.session() as session:
        assert (
            outbox.claim_due(session, t0 + timedelta(hours=1), limit=10, lease=timedelta(seconds=1))
            == []
        )
        assert outbox.counts(session).sent == 2


def test_unsubscribe_skips_pending_alerts_and_stops_new_ones(
    seeded: Database, matcher: Matcher
) -> None:
    story = make_story()
    with seeded.session() as session:
        stories.store_story(session, story, matcher.match(story))
        assert subscribers.unsubscribe(session, 1001)
    later = make_story("https://n.example/2")
    with seeded.session() as session:
        assert stories.store_story(session, later, matcher.match(later)).deliveries == 1
        assert outbox.counts(session).skipped == 1
        assert subscribers.topics_of(session, 1001) == []


def test_resubscribing_reactivates(seeded: Database) -> None:
    with seeded.session() as session:
        subscribers.deactivate(session, 1001, "Forbidden: bot was blocked by the user")
        assert subscribers.topics_of(session, 1001) == []
        assert subscribers.subscribe(session, 1001, topic=TOPIC) is True
        assert subscribers.topics_of(session, 1001) == [TOPIC]


def test_source_health_counts_failures_and_resets_on_success(seeded: Database) -> None:
    from crawler.types import FetchState

    with seeded.session() as session:
        assert sources.record_failure(session, "feed", "HTTP 500", now()) == 1
        assert sources.record_failure(session, "feed", "HTTP 500", now()) == 2
        sources.record_success(session, "feed", FetchState(etag='"e"'), 3, now())
        (record,) = sources.list_sources(session)
    assert record.consecutive_failures == 0 and record.last_error is None
    assert record.etag == '"e"' and record.items_seen == 3


def test_a_changed_url_forgets_validators(seeded: Database) -> None:
    from crawler.types import FetchState

    with seeded.session() as session:
        sources.record_success(session, "feed", FetchState(etag='"e"'), 0, now())
        sources.sync_sources(session, [("feed", "feed", "https://b.example/feed")])
        assert sources.poll_target(session, "feed") == ("https://b.example/feed", FetchState())


def test_batch_store_relies_on_the_unique_constraint_when_asked(
    seeded: Database, matcher: Matcher
) -> None:
    """ingest() stores a checked batch with skip_known=False; a racing writer's story
    then raises IntegrityError (and ingest retries one at a time), never a duplicate."""
    from sqlalchemy.exc import IntegrityError

    story = make_story()
    with seeded.session() as session:
        stories.store_stories(session, [(story, matcher.match(story))])
    with pytest.raises(IntegrityError), seeded.session() as session:
        stories.store_stories(session, [(story, matcher.match(story))], skip_known=False)
    with seeded.session() as session:
        (outcome,) = stories.store_stories(session, [(story, matcher.match(story))])
        assert outcome.story_id is None
        assert outbox.counts(session).pending == 2  # still one alert per chat


def test_a_batch_stores_a_repeated_url_once_and_queues_in_story_then_chat_order(
    seeded: Database, matcher: Matcher
) -> None:
    """One multi-row INSERT per table; a chat's alerts still queue in the stories' order."""
    first = make_story("https://n.example/1")
    second = make_story("https://n.example/2", "Alipay freezes wallets tied to crypto fraud")
    repeat = make_story("https://n.example/1?utm_source=x")
    weather = make_story("https://n.example/3", "Weather report")
    items = [(s, matcher.match(s)) for s in (first, weather, repeat, second)]
    with seeded.session() as session:
        outcomes = stories.store_stories(session, items)
    assert [o.story_id is not None for o in outcomes] == [True, True, False, True]
    assert [o.deliveries for o in outcomes] == [2, 0, 0, 2]
    with seeded.session() as session:
        queue = session.execute(
            text(
                "SELECT sub.chat_id, s.canonical_url FROM deliveries d "
                "JOIN stories s ON s.id = d.story_id "
                "JOIN subscribers sub ON sub.id = d.subscriber_id ORDER BY d.id"
            )
        ).all()
        assert [tuple(row) for row in queue] == [
            (1001, "https://n.example/1"),
            (1002, "https://n.example/1"),
            (1001, "https://n.example/2"),
            (1002, "https://n.example/2"),
        ]
        assert stories.reporting_sources(session, outcomes[0].story_id or 0) == ["feed"]
        fetched = session.execute(text("SELECT fetched_at FROM stories")).scalars().all()
        assert len(fetched) == 3 and None not in fetched


def test_health_of_many_sources_is_read_and_written_in_one_go(
    seeded: Database, matcher: Matcher
) -> None:
    from crawler.types import FetchState

    with seeded.session() as session:
        sources.sync_sources(session, [("other", "feed", "https://o.example/feed")])
        sources.record_failure(session, "other", "HTTP 500", now())
    story = make_story()
    with seeded.session() as session:
        stories.store_story(session, story, matcher.match(story))
    with seeded.session() as session:
        assert sources.poll_targets(session, ["feed", "other"]) == {
            "feed": ("https://a.example/feed", FetchState()),
            "other": ("https://o.example/feed", FetchState()),
        }
        assert sources.entries_last_week_by_source(session, ["feed", "other"], now()) == {
            "feed": 1,
            "other": 0,
        }
        ended = sources.record_successes(
            session,
            [
                sources.Success("other", FetchState(etag='"o"'), 0, now()),
                sources.Success("feed", FetchState(etag='"f"'), 1, now()),
            ],
        )
        assert ended == [1, 0]  # in the order given
        with pytest.raises(LookupError):
            sources.poll_targets(session, ["feed", "missing"])
    with seeded.session() as session:
        records = {r.key: r for r in sources.list_sources(session)}
    assert records["other"].consecutive_failures == 0 and records["other"].etag == '"o"'
    assert records["feed"].items_seen == 1 and records["feed"].etag == '"f"'


def test_a_claimed_source_is_not_due_until_polled_released_or_its_lease_runs_out(
    seeded: Database,
) -> None:
    """What keeps two pollers off one feed, and a stopped poll from delaying the next start."""
    from crawler.types import FetchState

    lease, t0 = timedelta(minutes=10), now()
    with seeded.session() as session:
        sources.sync_sources(session, [("other", "feed", "https://o.example/feed")])
        assert sources.claim_due(session, ["feed", "other"], t0, lease) == ["feed", "other"]
    with seeded.session() as session:
        assert sources.claim_due(session, ["feed", "other"], t0, lease) == []  # claimed
        # "feed" is polled (its outcome sets the next poll); "other"'s poll is cut short.
        sources.record_success(session, "feed", FetchState(), 0, t0, t0 + timedelta(hours=1))
        claims = {"feed": t0 + lease, "other": t0 + lease}
        assert sources.release_claims(session, claims, t0) == 1
    with seeded.session() as session:
        assert sources.claim_due(session, ["feed", "other"], t0, lease) == ["other"]
        assert sources.claim_due(session, ["feed", "other"], t0 + lease, lease) == ["other"]
        assert sources.claim_due(session, ["feed"], t0 + timedelta(hours=1), lease) == ["feed"]

"""Retention: old unmatched stories and old ledger rows go; the archive and open alerts stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import housekeeping, search, sources, stories, subscribers
from storage.db import Database
from storage.housekeeping import database_bytes, last_poll_success, optimize, prune
from storage.models import Delivery, StoryRow
from tests.probing import shipped_matcher

MATCHER = shipped_matcher()
NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def _store(db: Database, url: str, title: str, days_ago: int) -> None:
    story = normalise(RawStory("wire", url, title), fetched_at=NOW)
    with db.session() as session:
        stories.store_story(session, story, MATCHER.match(story))
        session.execute(
            update(StoryRow)
            .where(StoryRow.canonical_url == story.canonical_url)
            .values(fetched_at=NOW - days_ago * DAY)
        )


def _titles(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(session.scalars(select(StoryRow.title)))


def test_prune_keeps_the_archive_and_open_alerts_and_drops_the_rest(db: Database) -> None:
    with db.session() as session:
        sources.sync_sources(session, [("wire", "feed", "https://wire.example/feed")])
        subscribers.subscribe(session, 1, topic="china-crypto-enforcement")
    _store(db, "https://wire.example/old-weather", "Weather report, rain again", 40)
    _store(db, "https://wire.example/new-weather", "Weather report, sunny", 3)
    _store(db, "https://wire.example/old-ban", "PBoC bans bitcoin OTC trading", 40)
    _store(db, "https://wire.example/new-ban", "Alipay freezes wallets tied to crypto fraud", 1)
    with db.session() as session:  # one alert was sent long ago; the other is still queued
        rows = list(session.scalars(select(Delivery).order_by(Delivery.id)))
        assert len(rows) == 2
        rows[0].status, rows[0].finished_at = "sent", NOW - 120 * DAY

    report = prune(db, NOW, unmatched_after=30 * DAY, ledger_after=90 * DAY)

    assert (report.stories, report.deliveries) == (1, 1)
    assert _titles(db) == [
        "Alipay freezes wallets tied to crypto fraud",
        "PBoC bans bitcoin OTC trading",  # matched: the archive keeps it
        "Weather report, sunny",  # unmatched but recent: still guards against repeats
    ]
    with db.session() as session:
        assert [d.status for d in session.scalars(select(Delivery))] == ["pending"]
        rule = MATCHER.compile('"rain again"', bare_words_are_phrases=True)
        matcher = Matcher(MATCHER.watchlist, phrases=rule.phrases)
        assert search.search(session, matcher, rule, now=NOW).hits == []  # index follows
        assert last_poll_success(session) is None  # nothing polled in this test
    assert prune(db, NOW, unmatched_after=None, ledger_after=None) == prune(
        db, NOW, unmatched_after=30 * DAY, ledger_after=90 * DAY
    )  # nothing left to delete either way
    optimize(db)
    size = database_bytes(db)
    assert size is not None and size > 0


def test_prune_works_through_a_backlog_in_batches(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(housekeeping, "BATCH", 7)
    with db.session() as session:
        sources.sync_sources(session, [("wire", "feed", "https://wire.example/feed")])
    for n in range(30):
        _store(db, f"https://wire.example/w{n}", f"Weather report {n}", 60)
    assert prune(db, NOW, unmatched_after=30 * DAY, ledger_after=None).stories == 30
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(StoryRow)) == 0

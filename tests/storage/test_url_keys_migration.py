"""Migration 0014: stories' keys recomputed in w3lib's canonical form, duplicates merged."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import select, text

from storage import sources
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import Delivery, MatchRow, StoryRow, StorySource, Subscriber

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
# One article, keyed twice under the old form (query order; %e6 vs %E6), and another one.
FIRST = "https://news.example/%e6%96%b0?b=2&a=1"
AGAIN = "https://news.example/%E6%96%B0?a=1&b=2"
OTHER = "https://news.example/%7Eother"


def _story(url: str, source_id: int) -> dict[str, object]:
    return {
        "canonical_url": url,
        "url": url,
        "source_id": source_id,
        "title": url,
        "summary": "",
        "body": "",
        "lang": "en",
        "published_at": NOW,
        "fetched_at": NOW,
        "fingerprint": url,
    }


def test_keys_are_recomputed_and_a_duplicate_merges_into_the_oldest(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db.engine, "0013")
        command.downgrade(alembic_config(db.engine), "0013")  # a test server's may be at head
        with db.session() as session:
            sources.sync_sources(
                session, [("a", "feed", "https://a.example/"), ("b", "feed", "https://b.example/")]
            )
            session.execute(
                StoryRow.__table__.insert(), [_story(FIRST, 1), _story(AGAIN, 2), _story(OTHER, 1)]
            )
            ids = dict(session.execute(select(StoryRow.canonical_url, StoryRow.id)).all())
            session.execute(
                StorySource.__table__.insert(),
                [
                    {"story_id": ids[FIRST], "source_id": 1, "url": FIRST, "seen_at": NOW},
                    {"story_id": ids[AGAIN], "source_id": 2, "url": AGAIN, "seen_at": NOW},
                ],
            )
            session.execute(Subscriber.__table__.insert(), [{"chat_id": 7, "created_at": NOW}])
            # The chat was alerted of the duplicate only: that ledger row must survive.
            session.execute(
                Delivery.__table__.insert(),
                [{"story_id": ids[AGAIN], "subscriber_id": 1, "status": "sent", "created_at": NOW}],
            )
            session.execute(
                MatchRow.__table__.insert(),
                [{"story_id": ids[AGAIN], "entities": [], "topics": ["t"], "hits": [], "score": 1}],
            )
        db.upgrade()
        with db.session() as session:
            keys = dict(session.execute(select(StoryRow.id, StoryRow.canonical_url)).all())
            assert keys == {
                ids[FIRST]: "https://news.example/%E6%96%B0?a=1&b=2",
                ids[OTHER]: "https://news.example/~other",
            }
            carried = session.scalars(
                select(StorySource.source_id).where(StorySource.story_id == ids[FIRST])
            ).all()
            assert sorted(carried) == [1, 2]
            assert session.scalars(select(Delivery.story_id)).all() == [ids[FIRST]]
            assert session.scalars(select(MatchRow.story_id)).all() == [ids[FIRST]]
            assert session.execute(text("SELECT count(*) FROM stories")).scalar() == 2
    finally:
        db.dispose()

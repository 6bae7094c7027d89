"""Storing stories and fanning matches out to the outbox, in one transaction."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crawler.types import MatchResult, Story
from storage.models import (
    Delivery,
    MatchRow,
    Source,
    StoryRow,
    StorySource,
    Subscriber,
    Subscription,
)
from storage.records import IngestOutcome


def known_urls(session: Session, canonical_urls: list[str]) -> set[str]:
    """The subset of `canonical_urls` already stored (the dedup check)."""
    if not canonical_urls:
        return set()
    rows = session.scalars(
        select(StoryRow.canonical_url).where(StoryRow.canonical_url.in_(canonical_urls))
    )
    return set(rows)


def record_also_reported(session: Session, source_key: str, urls: dict[str, str]) -> int:
    """Note that `source_key` also carried these stored stories ({canonical: url}).

    A story repeated by the source that first carried it, or already noted,
    is left alone. Returns how many new reports were recorded.
    """
    if not urls:
        return 0
    source_id = session.scalars(select(Source.id).where(Source.key == source_key)).one()
    rows = session.execute(
        select(StoryRow.id, StoryRow.canonical_url).where(StoryRow.canonical_url.in_(list(urls)))
    ).all()
    known = set(
        session.scalars(
            select(StorySource.story_id).where(
                StorySource.source_id == source_id,
                StorySource.story_id.in_([story_id for story_id, _ in rows]),
            )
        )
    )
    added = 0
    for story_id, canonical in rows:
        if story_id not in known:
            session.add(StorySource(story_id=story_id, source_id=source_id, url=urls[canonical]))
            added += 1
    return added


def reporting_sources(session: Session, story_id: int) -> list[str]:
    """Keys of every source that carried a story, first one first."""
    query = (
        select(Source.key)
        .join(StorySource, StorySource.source_id == Source.id)
        .where(StorySource.story_id == story_id)
        .order_by(StorySource.seen_at, StorySource.id)
    )
    return list(session.scalars(query))


def interested_subscribers(session: Session, match: MatchResult) -> list[int]:
    """Active chats following one of the matched topics or watchlist keys."""
    keys = dict.fromkeys((*match.entities, *match.signals))
    wanted = [("topic", t) for t in match.topics] + [("entity", e) for e in keys]
    if not wanted:
        return []
    condition = or_(*((Subscription.kind == k) & (Subscription.value == v) for k, v in wanted))
    query = (
        select(Subscriber.id)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscriber.active.is_(True), condition)
        .distinct()
        .order_by(Subscriber.id)
    )
    return list(session.scalars(query))


def enqueue(session: Session, story_id: int, subscriber_ids: list[int]) -> int:
    """Add outbox rows, skipping pairs that exist; return how many were new."""
    if not subscriber_ids:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(Delivery)
        .values([{"story_id": story_id, "subscriber_id": sid} for sid in subscriber_ids])
        .on_conflict_do_nothing(index_elements=["story_id", "subscriber_id"])
    )
    result = session.execute(statement)
    return max(result.rowcount or 0, 0)


def store_story(session: Session, story: Story, match: MatchResult) -> IngestOutcome:
    """Insert a new story, its match and its outbox rows together.

    A story whose canonical URL is stored already is left alone: one
    story, one alert, however many times a feed repeats it.
    """
    if known_urls(session, [story.canonical_url]):
        return IngestOutcome(story_id=None)
    source_id = session.scalars(select(Source.id).where(Source.key == story.source_key)).one()
    row = StoryRow(
        canonical_url=story.canonical_url,
        url=story.url,
        source_id=source_id,
        title=story.title,
        summary=story.summary,
        body=story.body,
        lang=story.lang,
        published_at=story.published_at,
        fingerprint=story.fingerprint,
    )
    session.add(row)
    session.flush()
    session.add(StorySource(story_id=row.id, source_id=source_id, url=story.url))
    if not (match.topics or match.entities or match.signals):
        return IngestOutcome(story_id=row.id)
    session.add(
        MatchRow(
            story_id=row.id,
            entities=list(match.entities),
            topics=list(match.topics),
            hits=[asdict(hit) for hit in match.hits],
            score=match.score,
        )
    )
    session.flush()
    queued = enqueue(session, row.id, interested_subscribers(session, match))
    return IngestOutcome(story_id=row.id, deliveries=queued)

"""Storing stories and fanning matches out to the outbox, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import select
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


class SubscriptionIndex:
    """Who follows what, loaded once per batch: (kind, value) -> active subscriber ids."""

    def __init__(self, session: Session) -> None:
        self._followers: dict[tuple[str, str], set[int]] = {}
        query = (
            select(Subscription.kind, Subscription.value, Subscription.subscriber_id)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(Subscriber.active.is_(True))
        )
        for kind, value, subscriber_id in session.execute(query):
            self._followers.setdefault((kind, value), set()).add(subscriber_id)

    def interested(self, match: MatchResult) -> list[int]:
        """Active chats following one of the matched topics, watchlist keys or queries."""
        wanted = (
            [("topic", t) for t in match.topics]
            + [("entity", key) for key in dict.fromkeys((*match.entities, *match.signals))]
            + [("query", query) for query in match.queries]
        )
        ids: set[int] = set()
        for pair in wanted:
            ids |= self._followers.get(pair, set())
        return sorted(ids)


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


def store_stories(
    session: Session,
    items: Sequence[tuple[Story, MatchResult]],
    *,
    skip_known: bool = True,
) -> list[IngestOutcome]:
    """Insert new stories, their matches and their outbox rows, in the caller's transaction.

    A story whose canonical URL is stored already is left alone: one story,
    one alert, however many times feeds repeat it. A caller that has just
    checked may pass `skip_known=False` and rely on the unique constraint
    (an IntegrityError) should another writer store one meanwhile.
    """
    known = known_urls(session, [s.canonical_url for s, _ in items]) if skip_known else set()
    keys = {story.source_key for story, _ in items}
    source_ids = dict(
        session.execute(select(Source.key, Source.id).where(Source.key.in_(keys))).all()
    )
    followers = SubscriptionIndex(session)
    outcomes = []
    for story, match in items:
        if story.canonical_url in known:
            outcomes.append(IngestOutcome(story_id=None))
            continue
        outcomes.append(_store_one(session, story, match, source_ids[story.source_key], followers))
    return outcomes


def store_story(session: Session, story: Story, match: MatchResult) -> IngestOutcome:
    """One story: see `store_stories`."""
    return store_stories(session, [(story, match)])[0]


def _store_one(
    session: Session,
    story: Story,
    match: MatchResult,
    source_id: int,
    followers: SubscriptionIndex,
) -> IngestOutcome:
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
    if not (match.topics or match.entities or match.signals or match.queries):
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
    queued = enqueue(session, row.id, followers.interested(match))
    return IngestOutcome(story_id=row.id, deliveries=queued)

"""Reading stored stories back: the latest matches, and recent stories to test a query on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import MatchRow, Source, StoryRow, has_topics
from storage.records import StoredStory


def stored_story(
    story: StoryRow,
    source_key: str,
    entities: list[str] | None,
    actions: list[str] | None = None,
    actors: list[str] | None = None,
) -> StoredStory:
    """A stored row as the bot shows it (or re-matches it), with what happened if known."""
    return StoredStory(
        story_id=story.id,
        url=story.url,
        title=story.title,
        summary=story.summary,
        body=story.body,
        lang=story.lang,
        source_key=source_key,
        published_at=story.published_at,
        entities=tuple(entities or ()),
        actions=tuple(actions or ()),
        actors=tuple(actors or ()),
    )


def latest_matched(session: Session, limit: int) -> list[StoredStory]:
    """The newest stories that matched a topic, newest first."""
    query = (
        select(StoryRow, Source.key, MatchRow.entities, MatchRow.actions, MatchRow.actors)
        .join(MatchRow, MatchRow.story_id == StoryRow.id)
        .join(Source, Source.id == StoryRow.source_id)
        .where(has_topics())
        .order_by(StoryRow.published_at.desc(), StoryRow.id.desc())
        .limit(limit)
    )
    return [stored_story(*row) for row in session.execute(query)]


def since(session: Session, when: datetime, limit: int = 20_000) -> list[StoredStory]:
    """Stories fetched since `when`, newest first (a /watch dry run tests a query on them)."""
    query = (
        select(StoryRow, Source.key, MatchRow.entities, MatchRow.actions, MatchRow.actors)
        .join(Source, Source.id == StoryRow.source_id)
        .outerjoin(MatchRow, MatchRow.story_id == StoryRow.id)
        .where(StoryRow.fetched_at >= when)
        .order_by(StoryRow.published_at.desc(), StoryRow.id.desc())
        .limit(limit)
    )
    return [stored_story(*row) for row in session.execute(query)]


def clusters_of(session: Session, story_ids: list[int]) -> dict[int, int | None]:
    """Each story's cluster (the id of its event's first story), for grouping reports."""
    if not story_ids:
        return {}
    rows = session.execute(
        select(StoryRow.id, StoryRow.cluster_id).where(StoryRow.id.in_(story_ids))
    )
    return {story_id: cluster_id for story_id, cluster_id in rows}

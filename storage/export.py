"""Matched stories for analysts: one row per story with its entities, topics, cluster, sources.

Read in id order, a batch per query, so exporting a year of stories streams
in constant memory and does not hold a long transaction over the daemon's
writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import MatchRow, Source, StoryRow, StorySource, is_flagged


@dataclass(frozen=True)
class ExportRow:
    story_id: int
    published_at: datetime
    source: str
    title: str
    url: str
    lang: str
    entities: tuple[str, ...]
    topics: tuple[str, ...]
    score: float
    cluster_id: int | None
    sources: tuple[str, ...]  # every source that carried it, the first one first


def export_rows(
    session: Session,
    since: datetime,
    until: datetime | None = None,
    *,
    batch: int = 1000,
) -> Iterator[ExportRow]:
    """Stories the filter flagged (a topic or a reported entity), published in [since, until)."""
    last = 0
    while True:
        query = (
            select(StoryRow, Source.key, MatchRow)
            .join(MatchRow, MatchRow.story_id == StoryRow.id)
            .join(Source, Source.id == StoryRow.source_id)
            .where(StoryRow.id > last, StoryRow.published_at >= since, is_flagged())
            .order_by(StoryRow.id)
            .limit(batch)
        )
        if until is not None:
            query = query.where(StoryRow.published_at < until)
        rows = session.execute(query).all()
        if not rows:
            return
        ids = [story.id for story, _, _ in rows]
        carried: dict[int, list[str]] = {}
        for story_id, key in session.execute(
            select(StorySource.story_id, Source.key)
            .join(Source, Source.id == StorySource.source_id)
            .where(StorySource.story_id.in_(ids))
            .order_by(StorySource.id)
        ):
            carried.setdefault(story_id, []).append(key)
        for story, key, match in rows:
            yield ExportRow(
                story_id=story.id,
                published_at=story.published_at,
                source=key,
                title=story.title,
                url=story.url,
                lang=story.lang,
                entities=tuple(match.entities or ()),
                topics=tuple(match.topics or ()),
                score=float(match.score or 0.0),
                cluster_id=story.cluster_id,
                sources=tuple(dict.fromkeys([key, *carried.get(story.id, [])])),
            )
        last = ids[-1]

"""Operator actions and figures: pause a source, today's numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import outbox, subscribers
from storage.models import MatchRow, Source, StoryRow, has_topics
from storage.records import Stats


def set_paused(session: Session, key: str, paused: bool) -> bool:
    """Pause or resume polling a source; False if no source has that key."""
    result = session.execute(update(Source).where(Source.key == key).values(paused=paused))
    return bool(result.rowcount)


def stats(session: Session, since: datetime) -> Stats:
    """Chats, stories and matches since `since` (the start of today), and the outbox."""
    active, inactive = subscribers.counts(session)
    stories = session.scalar(select(func.count()).where(StoryRow.fetched_at >= since)) or 0
    matched = (
        session.scalar(
            select(func.count())
            .select_from(MatchRow)
            .where(MatchRow.created_at >= since, has_topics())
        )
        or 0
    )
    return Stats(active, inactive, stories, matched, outbox.counts(session))

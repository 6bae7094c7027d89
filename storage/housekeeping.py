"""Retention, optimisation and size: what keeps a database small over months of polling.

Unmatched stories are kept only so a feed that repeats them is not stored
twice; after `unmatched_after` they go (with their index rows, by cascade or
trigger). Matched stories stay: they are the archive `/search` reads. The
delivery ledger's finished rows go after `ledger_after`; open rows never do.
Deletes run in batches so a big first prune never holds the write lock for
long while the daemon polls and delivers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Delivery, MatchRow, Source, StoryRow

BATCH = 5000
FINISHED = ("sent", "failed", "skipped")


@dataclass(frozen=True)
class PruneReport:
    stories: int = 0
    deliveries: int = 0

    def __bool__(self) -> bool:
        return bool(self.stories or self.deliveries)


def _prune_batch(session: Session, ids: list[int], table: type[StoryRow] | type[Delivery]) -> int:
    if not ids:
        return 0
    session.execute(delete(table).where(table.id.in_(ids)))
    return len(ids)


def prune(
    db: Database,
    now: datetime,
    *,
    unmatched_after: timedelta | None,
    ledger_after: timedelta | None,
) -> PruneReport:
    """Delete old unmatched stories and old finished deliveries, a batch per transaction."""
    stories = deliveries = 0
    if unmatched_after is not None:
        cutoff = now - unmatched_after
        while True:
            with db.session() as session:
                ids = list(
                    session.scalars(
                        select(StoryRow.id)
                        .where(
                            StoryRow.fetched_at < cutoff,
                            ~select(MatchRow.id).where(MatchRow.story_id == StoryRow.id).exists(),
                            ~select(Delivery.id).where(Delivery.story_id == StoryRow.id).exists(),
                        )
                        .limit(BATCH)
                    )
                )
                stories += _prune_batch(session, ids, StoryRow)
            if len(ids) < BATCH:
                break
    if ledger_after is not None:
        cutoff = now - ledger_after
        while True:
            with db.session() as session:
                ids = list(
                    session.scalars(
                        select(Delivery.id)
                        .where(Delivery.status.in_(FINISHED), Delivery.finished_at < cutoff)
                        .limit(BATCH)
                    )
                )
                deliveries += _prune_batch(session, ids, Delivery)
            if len(ids) < BATCH:
                break
    return PruneReport(stories, deliveries)


def optimize(db: Database) -> None:
    """Let SQLite refresh its planner statistics and trim the WAL; PostgreSQL autovacuums."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        connection.execute(text("PRAGMA optimize"))
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def database_bytes(db: Database) -> int | None:
    """Bytes the database takes on disk (its WAL included); None for an in-memory one."""
    if db.engine.dialect.name == "sqlite":
        path = db.engine.url.database
        if path and path.startswith("file:"):  # a URI (`status` opens a read-only file so)
            path = unquote(urlsplit(path).path)
        if not path or path == ":memory:":
            return None
        return sum(
            os.path.getsize(p) for p in (path, f"{path}-wal", f"{path}-shm") if os.path.exists(p)
        )
    with db.engine.connect() as connection:
        return int(
            connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        )


def last_poll_success(session: Session) -> datetime | None:
    """When any source was last polled successfully (health: is anything coming in?)."""
    return session.scalar(select(func.max(Source.last_success_at)))

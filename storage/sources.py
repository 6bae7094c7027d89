"""Sources: config is the truth for what to poll; the table keeps state and health."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crawler.types import FetchState
from storage.db import STARTUP_LOCK, insert_for, serialize_transaction
from storage.models import Source, StoryRow
from storage.records import SourceRecord


def _record(row: Source) -> SourceRecord:
    return SourceRecord(
        key=row.key,
        kind=row.kind,
        url=row.url,
        fetch_url=row.fetch_url,
        etag=row.etag,
        last_modified=row.last_modified,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        next_poll_at=row.next_poll_at,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        items_seen=row.items_seen,
        paused=row.paused,
    )


def sync_sources(session: Session, specs: Iterable[tuple[str, str, str]]) -> None:
    """Make sure a row exists for every configured (key, kind, url).

    A changed URL forgets the old conditional-GET validators; rows of
    sources removed from config are kept so their stories keep a source.
    On PostgreSQL the rest of the caller's transaction (the channels' sync
    at start-up) is serialized with other daemons starting at the same time.
    """
    serialize_transaction(session, STARTUP_LOCK)
    specs = list(specs)
    existing = {row.key: row for row in session.scalars(select(Source))}
    missing = [{"key": k, "kind": kind, "url": url} for k, kind, url in specs if k not in existing]
    if missing:
        # Another process (`crackdown poll` beside a SQLite daemon) may insert one first.
        session.execute(
            insert_for(session, Source)
            .values(missing)
            .on_conflict_do_nothing(index_elements=["key"])
        )
    for key, kind, url in specs:
        row = existing.get(key)
        if row is not None and (row.url != url or row.kind != kind):
            row.url, row.kind = url, kind
            row.etag = row.last_modified = row.fetch_url = row.content_hash = None
    session.flush()


def list_sources(session: Session) -> list[SourceRecord]:
    return [_record(row) for row in session.scalars(select(Source).order_by(Source.key))]


def poll_target(session: Session, key: str) -> tuple[str, FetchState]:
    """The URL to poll (where a permanent redirect led, else the configured one) and validators."""
    return poll_targets(session, [key])[key]


def poll_targets(session: Session, keys: Iterable[str]) -> dict[str, tuple[str, FetchState]]:
    """`poll_target` for many sources in one query (a cycle reads them all at once)."""
    wanted = list(keys)
    found = {
        row.key: (
            row.fetch_url or row.url,
            FetchState(row.etag, row.last_modified, row.content_hash),
        )
        for row in session.execute(
            select(
                Source.key,
                Source.url,
                Source.fetch_url,
                Source.etag,
                Source.last_modified,
                Source.content_hash,
            ).where(Source.key.in_(wanted))
        )
    }
    missing = [key for key in wanted if key not in found]
    if missing:
        raise LookupError(f"no source row for {missing[0]!r}")
    return found


def record_moved(session: Session, key: str, url: str) -> bool:
    """Remember a permanent redirect; True if it is news."""
    row = session.scalars(select(Source).where(Source.key == key)).one()
    if url in (row.fetch_url, row.url):
        return False
    row.fetch_url = url
    return True


def record_success(
    session: Session,
    key: str,
    state: FetchState,
    new_items: int,
    when: datetime,
    next_poll_at: datetime | None = None,
) -> int:
    """A poll worked: store validators and the next poll, reset the failure count.

    Returns the failure streak it ended (0 if there was none).
    """
    return record_successes(session, [Success(key, state, new_items, when, next_poll_at)])[0]


@dataclass(frozen=True)
class Success:
    """One source's successful poll, as `record_successes` stores it."""

    key: str
    state: FetchState
    new_items: int
    when: datetime
    next_poll_at: datetime | None = None


def record_successes(session: Session, polls: Sequence[Success]) -> list[int]:
    """`record_success` for several sources, their rows read in one query; streaks in order."""
    rows = {
        row.key: row
        for row in session.scalars(select(Source).where(Source.key.in_([p.key for p in polls])))
    }
    ended = []
    for poll in polls:
        row = rows[poll.key]
        ended.append(row.consecutive_failures)
        row.etag, row.last_modified = poll.state.etag, poll.state.last_modified
        row.content_hash = poll.state.content_hash
        row.last_polled_at = row.last_success_at = poll.when
        row.consecutive_failures = 0
        row.last_error = None
        row.items_seen += poll.new_items
        row.next_poll_at = poll.next_poll_at
    return ended


def record_failure(
    session: Session, key: str, error: str, when: datetime, next_poll_at: datetime | None = None
) -> int:
    """A poll failed: count it, keep the error, schedule the retry; return the streak."""
    row = session.scalars(select(Source).where(Source.key == key)).one()
    row.last_polled_at = when
    row.consecutive_failures += 1
    row.last_error = error[:1000]
    row.next_poll_at = next_poll_at
    return row.consecutive_failures


def failures(session: Session, key: str) -> int:
    return session.scalars(select(Source.consecutive_failures).where(Source.key == key)).one()


def claim_due(session: Session, keys: Iterable[str], now: datetime, lease: timedelta) -> list[str]:
    """Which of `keys` are due, each claimed for this poller for `lease`; in the order given.

    A claim moves the source's next poll to `now + lease`, so another daemon
    on the same database does not find it due while this one polls it, and
    one that dies mid-poll leaves it to be polled again when the lease runs
    out. The poll's outcome (`record_success`, `record_failure`) then sets
    the real next poll. One UPDATE ... RETURNING: atomic on SQLite, and on
    PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`, so two daemons
    claiming at the same moment split the due sources instead of waiting
    for each other or both taking one.
    """
    wanted = list(keys)
    if not wanted:
        return []
    due = (
        select(Source.id)
        .where(
            Source.key.in_(wanted),
            Source.paused.is_(False),
            (Source.next_poll_at.is_(None)) | (Source.next_poll_at <= now),
        )
        .with_for_update(skip_locked=True)
    )
    claimed = set(
        session.scalars(
            update(Source)
            .where(Source.id.in_(due.scalar_subquery()))
            .values(next_poll_at=now + lease)
            .returning(Source.key)
        )
    )
    return [key for key in wanted if key in claimed]


def plan_sooner(session: Session, now: datetime, by: timedelta) -> int:
    """Every next poll still ahead of `now` moved `by` sooner; returns how many moved.

    Why: next polls are wall-clock times. When the wall clock steps back an
    hour (a VM restored from a snapshot, `date -s`), a source due in 10
    minutes is otherwise due in 70 (`crackdown.runtime.clockjump`).
    """
    ahead = session.execute(
        select(Source.id, Source.next_poll_at).where(Source.next_poll_at > now)
    ).all()
    for source_id, next_poll_at in ahead:
        session.execute(
            update(Source).where(Source.id == source_id).values(next_poll_at=next_poll_at - by)
        )
    return len(ahead)


def release_claims(session: Session, claims: Mapping[str, datetime], now: datetime) -> int:
    """Hand back sources `claim_due` claimed (key -> claimed until) whose poll was cut short.

    They are due again at `now`. Only a claim still standing is released: a
    source whose poll was recorded meanwhile, or that another daemon claimed
    after the lease ran out, is left alone. Returns how many were released.
    """
    by_claim: dict[datetime, list[str]] = {}
    for key, until in claims.items():  # one `due` call claims all its sources until one time
        by_claim.setdefault(until, []).append(key)
    released = 0
    for until, keys in by_claim.items():
        result = session.execute(
            update(Source)
            .where(Source.key.in_(keys), Source.next_poll_at == until)
            .values(next_poll_at=now)
        )
        released += result.rowcount or 0
    return released


def entries_last_week(session: Session, key: str, now: datetime) -> int:
    """Stories first stored from this source in the last 7 days (its publishing rate)."""
    return entries_last_week_by_source(session, [key], now)[key]


def entries_last_week_by_source(
    session: Session, keys: Iterable[str], now: datetime
) -> dict[str, int]:
    """`entries_last_week` for several sources in one query (0 for a source with none)."""
    wanted = list(keys)
    query = (
        select(Source.key, func.count(StoryRow.id))
        .join(Source, Source.id == StoryRow.source_id)
        .where(Source.key.in_(wanted), StoryRow.fetched_at >= now - timedelta(days=7))
        .group_by(Source.key)
    )
    counts: dict[str, int] = dict.fromkeys(wanted, 0)
    counts.update({key: count for key, count in session.execute(query)})
    return counts

"""Sources: config is the truth for what to poll; the table keeps state and health."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.types import FetchState
from storage.models import Source
from storage.records import SourceRecord


def _record(row: Source) -> SourceRecord:
    return SourceRecord(
        key=row.key,
        kind=row.kind,
        url=row.url,
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
    """
    existing = {row.key: row for row in session.scalars(select(Source))}
    for key, kind, url in specs:
        row = existing.get(key)
        if row is None:
            session.add(Source(key=key, kind=kind, url=url))
        elif row.url != url or row.kind != kind:
            row.url, row.kind = url, kind
            row.etag = row.last_modified = None
    session.flush()


def list_sources(session: Session) -> list[SourceRecord]:
    return [_record(row) for row in session.scalars(select(Source).order_by(Source.key))]


def fetch_state(session: Session, key: str) -> FetchState:
    row = session.scalars(select(Source).where(Source.key == key)).one()
    return FetchState(etag=row.etag, last_modified=row.last_modified)


def record_success(
    session: Session, key: str, state: FetchState, new_items: int, when: datetime
) -> None:
    """A poll worked: store validators, reset the failure count."""
    row = session.scalars(select(Source).where(Source.key == key)).one()
    row.etag, row.last_modified = state.etag, state.last_modified
    row.last_polled_at = row.last_success_at = when
    row.consecutive_failures = 0
    row.last_error = None
    row.items_seen += new_items


def record_failure(session: Session, key: str, error: str, when: datetime) -> int:
    """A poll failed: count it and keep the error; return the failure streak."""
    row = session.scalars(select(Source).where(Source.key == key)).one()
    row.last_polled_at = when
    row.consecutive_failures += 1
    row.last_error = error[:1000]
    return row.consecutive_failures

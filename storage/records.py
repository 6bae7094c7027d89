"""Plain records that storage queries return; ORM rows stay inside `storage`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SourceRecord:
    key: str
    kind: str
    url: str
    fetch_url: str | None
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    items_seen: int
    paused: bool


@dataclass(frozen=True)
class Alert:
    """A claimed outbox row with everything needed to format and send it.

    Either a story (the story fields) or a notice (`notice`: ready HTML).
    """

    delivery_id: int
    attempts: int
    chat_id: int
    chat_type: str
    language: str
    story_url: str = ""
    title: str = ""
    summary: str = ""
    source_key: str = ""
    published_at: datetime | None = None
    entities: tuple[str, ...] = ()
    hits: tuple[dict[str, object], ...] = ()
    notice: str | None = None


@dataclass(frozen=True)
class IngestOutcome:
    """What storing one story did."""

    story_id: int | None  # None: already known (duplicate)
    deliveries: int = 0


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    sending: int
    sent: int
    failed: int
    skipped: int

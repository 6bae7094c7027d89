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
    subscriber_id: int = 0
    chat_failures: int = 0  # consecutive failures of this chat before this send
    parts_sent: int = 0  # parts of a split message already delivered
    timezone: str = "UTC"
    muted_until: datetime | None = None
    quiet: tuple[int, int] | None = None  # local minutes after midnight: start, end
    digest: str = "off"  # "off" | "hourly" | "daily"
    digest_at: int | None = None  # daily digests: local minutes after midnight
    created_at: datetime | None = None  # when the row was queued (its digest slot)
    story_url: str = ""
    title: str = ""
    summary: str = ""
    source_key: str = ""
    published_at: datetime | None = None
    entities: tuple[str, ...] = ()
    hits: tuple[dict[str, object], ...] = ()
    actions: tuple[str, ...] = ()  # what happened (watchlist `act` kinds), for the alert line
    actors: tuple[str, ...] = ()  # who acted (watchlist keys)
    notice: str | None = None
    story_id: int | None = None
    edit_of: int | None = None  # an edit: the row whose sent message gains another source


@dataclass(frozen=True)
class EditTarget:
    """The alert an edit row updates: where it was sent, and its content to render again."""

    status: str
    message_id: int | None
    parts_sent: int
    alert: Alert


@dataclass(frozen=True)
class IngestOutcome:
    """What storing one story did."""

    story_id: int | None  # None: already known (duplicate)
    deliveries: int = 0


@dataclass(frozen=True)
class OutboxCounts:
    """Delivery counters, summed from the ledger so they survive restarts."""

    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retries: int = 0  # sends tried again after a failure
    rate_limited: int = 0  # 429 answers
    oldest_due: datetime | None = None  # the longest-waiting open row

    @property
    def backlog(self) -> int:
        return self.pending + self.sending


@dataclass(frozen=True)
class LedgerEntry:
    """One delivery to one chat, as an operator reads it."""

    delivery_id: int
    status: str
    what: str  # story title or notice kind
    created_at: datetime
    finished_at: datetime | None
    attempts: int
    rate_limited: int
    reason: str | None
    message_id: int | None


@dataclass(frozen=True)
class StoredStory:
    """A stored story as the bot shows it (or re-matches it)."""

    story_id: int
    url: str
    title: str
    summary: str
    body: str
    lang: str
    source_key: str
    published_at: datetime
    entities: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # what happened (watchlist `act` kinds), as alerts show it
    actors: tuple[str, ...] = ()  # who acted (watchlist keys)


@dataclass(frozen=True)
class Stats:
    """What /stats shows operators."""

    chats_active: int
    chats_inactive: int
    stories_today: int
    matched_today: int
    outbox: OutboxCounts

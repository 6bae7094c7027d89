"""SQLAlchemy 2 models. Rows never leave `storage`; queries return plain data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    or_,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """A configured feed or spider, with its fetch state and health."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)  # as configured
    fetch_url: Mapped[str | None] = mapped_column(Text)  # where a permanent redirect led
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoryRow(Base):
    """A normalised story, unique by canonical URL."""

    __tablename__ = "stories"
    __table_args__ = (
        Index("ix_stories_published_at", "published_at"),
        Index("ix_stories_source_fetched", "source_id", "fetched_at"),  # a source's weekly rate
        # A title's first and newest stories in a window, a cluster's newest members and span,
        # walking only the rows read (storage/clusters.py).
        Index("ix_stories_fingerprint_published", "fingerprint", "published_at"),
        Index("ix_stories_cluster_published", "cluster_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str] = mapped_column(String(8))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The cluster (same event, other sources): the id of its first story, which holds its own id.
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))


class StorySignature(Base):
    """A story's MinHash signature (crawler.cluster), to verify LSH candidates against."""

    __tablename__ = "story_signatures"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class StoryBand(Base):
    """One LSH band of a story's signature: stories sharing a (band, hash) are candidates."""

    __tablename__ = "story_bands"
    # A bucket's members within the window (storage.clusters._candidates), read from the index
    # alone: the story id is in it.
    __table_args__ = (Index("ix_story_bands_bucket", "band", "hash", "published_at", "story_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    band: Mapped[int] = mapped_column(SmallInteger)
    hash: Mapped[int] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the window, without a join


class StorySource(Base):
    """Every source that carried a story: the first, and any that also reported it."""

    __tablename__ = "story_sources"
    __table_args__ = (UniqueConstraint("story_id", "source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # (no index of its own: the unique (story_id, source_id) serves its lookups)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchRow(Base):
    """Why a story matched: entities, topics, hits (JSON), score."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), unique=True)
    entities: Mapped[list[str]] = mapped_column(JSON)
    topics: Mapped[list[str]] = mapped_column(JSON)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # what happened (action kinds) and who acted (watchlist keys); NULL on older rows
    actions: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    actors: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


def has_topics() -> ColumnElement[bool]:
    """True for a match that matched a topic (not only entities or queries).

    `json_array_length` exists in SQLite (JSON1) and PostgreSQL (for `json`,
    which is what sa.JSON is there), so one expression serves both; comparing
    the column's text with '[]' would depend on how each backend writes JSON.
    """
    return func.json_array_length(MatchRow.topics) > 0


def is_flagged() -> ColumnElement[bool]:
    """A match with a topic or a reported entity: what alerts, /search and exports are about
    (a bare place name, a signal only, is not)."""
    return or_(has_topics(), func.json_array_length(MatchRow.entities) > 0)


class Subscriber(Base):
    """A Telegram chat that receives alerts."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_type: Mapped[str] = mapped_column(String(20), default="private")
    title: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    inactive_reason: Mapped[str | None] = mapped_column(Text)
    # Consecutive sends that failed with an error that may mean the chat is gone
    # ("chat not found", an unfamiliar 403); reset by a successful send.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # Preferences set with /tz, /mute and /quiet (minutes after midnight, local time).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    # /digest: "off", "hourly" or "daily" (at digest_at, local minutes after midnight).
    digest: Mapped[str] = mapped_column(String(10), default="off")
    digest_at: Mapped[int | None] = mapped_column(Integer)
    # /everysource: an alert from every source of an event, not one edited alert.
    every_source: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscription(Base):
    """One thing a chat follows: a topic, an entity or a keyword query."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("subscriber_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # (no index of its own: the unique (subscriber_id, kind, value) begins with it)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # "topic" | "entity" | "keyword"
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(Base):
    """A message that is not a story (operator notices, broadcasts), already in HTML."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """The outbox: one row per story (or notice) and chat, never two."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("story_id", "subscriber_id"),
        UniqueConstraint("notice_id", "subscriber_id"),
        CheckConstraint("(story_id IS NULL) <> (notice_id IS NULL)", name="story_or_notice"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        # Each chat's queue, in order: only its oldest open row may be sent.
        Index("ix_deliveries_chat_queue", "subscriber_id", "status", "id"),
        # An event's first alerts, by story (`storage.stories._alerted_in`): without the edits,
        # which are most rows (a wire story's every later report edits each chat's alert).
        Index(
            "ix_deliveries_alerts",
            "story_id",
            sqlite_where=text("edit_of_id IS NULL"),
            postgresql_where=text("edit_of_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    # (no index of its own: ix_deliveries_chat_queue begins with it; every outbox row wrote both)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    # pending -> sending (leased) -> sent | failed | skipped
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # sends tried (429s refunded)
    throttled: Mapped[int] = mapped_column(Integer, default=0)  # 429 answers for this row
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)  # of a split message
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # sent, failed or skipped
    # An edit: the alert row whose sent message gains this story's source ("also reported").
    edit_of_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))

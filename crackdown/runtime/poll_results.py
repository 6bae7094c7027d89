"""What a poll found and how it went: the records the poller, the recorder and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crackdown.config import SourceConfig
from crackdown.runtime.feed_work import PreparedFeed
from crackdown.runtime.pipeline import IngestReport
from crawler.types import FeedFetch, RawStory


@dataclass
class SourcePoll:
    """How one poll went: one line of `crackdown poll`."""

    key: str
    status: str  # "HTTP 200", "304", "error"
    items: int = 0
    report: IngestReport = field(default_factory=IngestReport)
    seconds: float = 0.0
    error: str | None = None
    next_poll_at: datetime | None = None
    failures: int = 0
    refused: bool = False  # the database refused to store it (a full disk, a server away)


@dataclass
class PollReport(IngestReport):
    results: list[SourcePoll] = field(default_factory=list)

    @property
    def polled(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> list[str]:
        return [r.key for r in self.results if r.error is not None]


@dataclass
class PollSuccess:
    """A poll that worked, waiting to be stored with its source's health record."""

    source: SourceConfig
    fetched: FeedFetch
    found: list[RawStory]
    now: datetime
    prepared: PreparedFeed | None = None  # the feed's new items prepared by a parse worker

    @property
    def items(self) -> int:
        """The feed's items (a worker keeps them: `found` is then empty)."""
        return self.prepared.items if self.prepared is not None else len(self.fetched.stories)

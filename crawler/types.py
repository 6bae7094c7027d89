"""Plain data that crosses package boundaries (see DESIGN.md).

Frozen dataclasses only: ORM rows, feedparser dicts and PTB objects never
leave the module that owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawler.schedule import CacheHints
from crawler.snippets import Snippet

# Longest text kept per field, in characters. A feed or page controls its own lengths, and
# everything after collection (normalising, matching, clustering, storing) costs at least
# in proportion: one 9.9 MB title took 1.8 GB and 29 s. Real titles stay far below these.
TITLE_MAX, SUMMARY_MAX, BODY_MAX = 1_000, 20_000, 200_000


@dataclass(frozen=True)
class RawStory:
    """What a collector found, before normalisation; each text field cut at its cap."""

    source_key: str
    url: str
    title: str
    summary: str = ""
    body: str = ""
    published_at: datetime | None = None
    lang: str | None = None
    guid: str | None = None

    def __post_init__(self) -> None:
        for name, cap in (("title", TITLE_MAX), ("summary", SUMMARY_MAX), ("body", BODY_MAX)):
            value = getattr(self, name)
            if len(value) > cap:
                object.__setattr__(self, name, value[:cap])


@dataclass(frozen=True)
class Story:
    """A normalised story: canonical URL, clean text, UTC time."""

    source_key: str
    url: str
    canonical_url: str
    title: str
    summary: str
    body: str
    lang: str
    published_at: datetime
    fingerprint: str


@dataclass(frozen=True)
class Hit:
    """One watchlist term found in a story; offsets index the original field text."""

    entity: str
    field: str  # "title" | "summary" | "body"
    start: int
    end: int
    term: str


@dataclass(frozen=True)
class MatchResult:
    """Which entities and topics a story matched, and where.

    `entities` are the watch entities to show (hashtags); `signals` are every
    watchlist key found, including rule-only terms (actions, places);
    `hits` and `snippets` cover the reported entities; `queries` are the
    subscriber queries passed to `Matcher.match` that hold.
    """

    entities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    hits: tuple[Hit, ...] = field(default=())
    score: float = 0.0
    signals: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    snippets: tuple[Snippet, ...] = ()
    queries: tuple[str, ...] = ()  # subscriber queries (/watch) that hold
    # What happened and who did it, from the evidence the rule counted (background
    # actions excluded), title first: action kinds (watchlist `act`) and actor keys.
    actions: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        return bool(self.topics)


@dataclass(frozen=True)
class FetchState:
    """What the last fetch of a source left behind, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None  # our own validator for servers that send none


@dataclass(frozen=True)
class FeedFetch:
    """The outcome of one feed poll."""

    status: int
    stories: tuple[RawStory, ...]
    state: FetchState
    not_modified: bool = False
    warning: str | None = None  # a feed that parsed only partly ("bozo")
    hints: CacheHints = field(default_factory=CacheHints)  # when the server wants us back
    moved_to: str | None = None  # a permanent redirect: poll this URL from now on
